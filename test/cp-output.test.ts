// End to end: files out of layers through a VM (strata cp, strata build --output), a hostile
// layer whose own tar sends a crafted stream, and --no-cache rebuilding under the same IDs.
// Boots: two cold (the first step, then again with --no-cache), the rest resume saved states.
import { execFile } from "node:child_process";
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStore, type TestStore } from "./support/test-store.js";

// A cold boot under TCG on a loaded machine can pass the 300 s default.
const BOOT_TIME = "--qemu-boot-time=900";
const CLI = join(import.meta.dirname, "..", "apps", "cli", "bin", "strata.js");

const APP = `((from debian-bookworm)
 (run (shell "mkdir -p /opt/app/sub && echo hello > /opt/app/hello.txt && echo deep > /opt/app/sub/deep.txt && ln -s /etc/shadow /opt/app/evil && ln -s hello.txt /opt/app/good && cat /proc/sys/kernel/random/uuid > /opt/app/stamp"))
 (run (shell "echo two > /opt/two")))
`;
// The same chain, then a step that replaces the layer's tar with one that sends crafted
// streams, whatever it is asked for: what strata cp must survive.
const HOSTILE = APP.replace(
  /\)\n$/,
  `
 (copy (src dots.tar link.tar) (dst /))
 (run (shell "printf '#!/bin/sh\\\\ncase \\"$*\\" in *app*) cat /dots.tar;; *) cat /link.tar;; esac\\\\n' > /usr/bin/tar.evil && chmod 755 /usr/bin/tar.evil && mv /usr/bin/tar.evil /usr/bin/tar")))
`,
);

/** One ustar entry, as a hostile guest can forge it. */
function tarEntry(name: string, type: "0" | "2" | "5", body = "", linkname = ""): Buffer {
  const header = Buffer.alloc(512);
  const put = (text: string, at: number) => header.write(text, at, "latin1");
  put(name, 0);
  put(type === "5" ? "0000755\0" : "0000644\0", 100);
  put("0000000\0", 108);
  put("0000000\0", 116);
  put(`${Buffer.byteLength(body).toString(8).padStart(11, "0")}\0`, 124);
  put("00000000000\0", 136);
  put("        ", 148);
  put(type, 156);
  put(linkname, 157);
  put("ustar\0", 257);
  put("00", 263);
  const sum = header.reduce((a, b) => a + b, 0);
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const data = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512);
  data.write(body);
  return Buffer.concat([header, data]);
}
const tarOf = (...entries: Buffer[]) => Buffer.concat([...entries, Buffer.alloc(1024)]);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function strata(cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile("node", [CLI, ...args], { cwd, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error.code as number) ?? -1) : 0, stdout, stderr }),
    );
  });
}

const gotId = (r: Run) => /Got: "([0-9a-f]{64})"/.exec(r.stdout)?.[1] ?? "";

describe("copying out of layers", () => {
  let store: TestStore;
  let work: string;
  let storeFlag: string;
  let appId = "";
  let stamp = "";

  beforeAll(async () => {
    store = await createTestStore("strata-cp-");
    storeFlag = `--store=qemu:${store.root}`;
    work = await mkdtemp(join(tmpdir(), "strata-cp-work-"));
    await writeFile(join(work, "app.spec"), APP);
    await writeFile(join(work, "hostile.spec"), HOSTILE);
    await writeFile(
      join(work, "dots.tar"),
      tarOf(
        tarEntry("app/", "5"),
        tarEntry("app/ok", "0", "ok\n"),
        tarEntry("../../escaped", "0", "pwned\n"),
      ),
    );
  });
  afterAll(async () => {
    await store?.[Symbol.asyncDispose]();
    await rm(work, { recursive: true, force: true });
  });

  it("exports paths of the final layer with build --output, leaving out links that point outside", async () => {
    const r = await strata(
      work,
      "build",
      storeFlag,
      BOOT_TIME,
      "-f",
      "app.spec",
      "--output",
      "out",
      "--output-path",
      "/opt/app",
      "--output-path",
      "/opt/two",
      ".",
    );
    expect(r.code, r.stderr).toBe(0);
    appId = gotId(r);
    expect(appId).not.toBe("");
    const out = join(work, "out");
    expect((await readdir(out)).sort()).toEqual(["app", "two"]);
    expect((await readdir(join(out, "app"))).sort()).toEqual(["good", "hello.txt", "stamp", "sub"]);
    expect(await readFile(join(out, "app/hello.txt"), "utf8")).toBe("hello\n");
    expect(await readFile(join(out, "app/sub/deep.txt"), "utf8")).toBe("deep\n");
    expect(await readlink(join(out, "app/good"))).toBe("hello.txt");
    expect(await readFile(join(out, "two"), "utf8")).toBe("two\n");
    expect(r.stderr).toContain("left out the symbolic link app/evil -> /etc/shadow");
    stamp = await readFile(join(out, "app/stamp"), "utf8");
    expect(stamp).toMatch(/^[0-9a-f-]{36}\n$/);
  });

  it("copies a file into a directory and a directory to a new name with strata cp ID-PREFIX:PATH", async () => {
    await mkdir(join(work, "into"));
    const file = await strata(
      work,
      "cp",
      storeFlag,
      `${appId.slice(0, 10)}:/opt/app/hello.txt`,
      "into/",
    );
    expect(file.stderr).toContain("copied /opt/app/hello.txt to");
    expect(file.code).toBe(0);
    expect(await readdir(join(work, "into"))).toEqual(["hello.txt"]);
    expect(await readFile(join(work, "into/hello.txt"), "utf8")).toBe("hello\n");
    const dir = await strata(work, "cp", storeFlag, `${appId.slice(0, 8)}:/opt/app/sub`, "copied");
    expect(dir.code).toBe(0);
    expect(await readFile(join(work, "copied/deep.txt"), "utf8")).toBe("deep\n");
    const missing = await strata(work, "cp", storeFlag, `${appId}:/opt/nothing`, "into/");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('"/opt/nothing" does not exist in the layer');
  });

  it("refuses a hostile layer's crafted streams (.. and writes through a link), writing nothing outside DEST", async () => {
    const attack = join(work, "attack");
    await mkdir(join(attack, "dest"), { recursive: true });
    await writeFile(
      join(work, "link.tar"),
      tarOf(tarEntry("two", "2", "", attack), tarEntry("two/planted", "0", "pwned\n")),
    );
    const built = await strata(work, "build", storeFlag, BOOT_TIME, "-f", "hostile.spec", ".");
    expect(built.code, built.stderr).toBe(0);
    const hostileId = gotId(built);
    // `..` climbing out of the staging directory: the stream is refused, nothing is kept.
    const dots = await strata(work, "cp", storeFlag, `${hostileId}:/opt/app`, "attack/dest");
    expect(dots.code, dots.stderr).not.toBe(0);
    expect(dots.stderr).toContain("Refused a tar stream from the guest");
    expect(dots.stderr).toContain("../../escaped");
    expect(await readdir(attack)).toEqual(["dest"]);
    expect(await readdir(join(attack, "dest"))).toEqual([]);
    // A link to a host directory, then a file through it: the link is left out, so the file
    // lands in a plain directory inside DEST.
    const link = await strata(work, "cp", storeFlag, `${hostileId}:/opt/two`, "attack/dest");
    expect(link.code, link.stderr).toBe(0);
    expect(link.stderr).toContain(`left out the symbolic link two -> ${attack}`);
    expect(await readdir(attack)).toEqual(["dest"]);
    expect((await lstat(join(attack, "dest/two"))).isDirectory()).toBe(true);
    expect(await readFile(join(attack, "dest/two/planted"), "utf8")).toBe("pwned\n");
    // The hostile layer is kept for the next test: --no-cache must drop it with its ancestors' old bytes.
    expect((await readdir(join(store.root, "result"))).includes(hostileId)).toBe(true);
    hostile = hostileId;
  });

  let hostile = "";

  it("rebuilds every step with --no-cache under the same IDs, dropping layers built on the old ones", async () => {
    const r = await strata(
      work,
      "build",
      storeFlag,
      BOOT_TIME,
      "-f",
      "app.spec",
      "--no-cache",
      "--progress=plain",
      ".",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(gotId(r)).toBe(appId);
    // Only the (from ...) layer, an empty overlay of the base image that runs nothing, is kept.
    expect((r.stdout.match(/using "[0-9a-f]+" from cache/g) ?? []).length).toBe(1);
    expect((r.stdout.match(/---> saved as/g) ?? []).length).toBe(2);
    const result = await readdir(join(store.root, "result"));
    expect(result.includes(hostile)).toBe(false);
    const again = await strata(work, "cp", storeFlag, `${appId}:/opt/app/stamp`, "stamp-after");
    expect(again.code, again.stderr).toBe(0);
    const after = await readFile(join(work, "stamp-after"), "utf8");
    expect(after).toMatch(/^[0-9a-f-]{36}\n$/);
    expect(after).not.toBe(stamp);
  });
});

import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { type ExtractTarOptions, extractTar } from "@strata/ssh-transport";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copyOutOfGuest } from "./copy-out.js";
import type { Guest } from "./guest.js";

let dir: string;
let guestRoot: string;
let host: string;

/**
 * A guest stand-in whose file system is `guestRoot` on this host: the command lines copyOutOfGuest
 * sends run in a real shell with real tar, and the stream goes through the real extractTar, as
 * SshSession.getTar does. Guest paths are mapped under guestRoot.
 */
function localGuest(): Guest {
  const inGuest = (path: string) => join(guestRoot, path);
  const ssh = {
    dialect: "posix",
    exec: async (command: string) => {
      const line = command.replace(/(\s)('?)\//g, `$1$2${guestRoot}/`);
      const r = await execa("/bin/sh", ["-c", line], { reject: false });
      return { command, exitCode: r.exitCode, signal: undefined, stdout: "", stderr: r.stderr };
    },
    getTar: async (
      remoteDir: string,
      target: string,
      o: { entries: string[]; extract: ExtractTarOptions },
    ) => {
      const out = new PassThrough();
      const child = execa("tar", ["-cf", "-", "-C", inGuest(remoteDir), "--", ...o.entries]);
      child.stdout!.pipe(out);
      await Promise.all([child, extractTar(out, target, o.extract)]);
    },
  };
  return { os: "linux", ssh } as unknown as Guest;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-cpout-"));
  guestRoot = join(dir, "guest");
  host = join(dir, "host");
  await mkdir(join(guestRoot, "etc/app/sub"), { recursive: true });
  await writeFile(join(guestRoot, "etc/os-release"), "ID=debian\n");
  await writeFile(join(guestRoot, "etc/app/a.conf"), "a\n");
  await writeFile(join(guestRoot, "etc/app/sub/b.conf"), "b\n");
  await symlink("/etc/shadow", join(guestRoot, "etc/app/evil"));
  await symlink("sub/b.conf", join(guestRoot, "etc/app/good"));
  await mkdir(host);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("copyOutOfGuest", () => {
  it("copies a file into an existing directory, or to a new name", async () => {
    const guest = localGuest();
    expect(await copyOutOfGuest(guest, { path: "/etc/os-release", dest: host })).toBe(
      join(host, "os-release"),
    );
    expect(await readFile(join(host, "os-release"), "utf8")).toBe("ID=debian\n");
    await copyOutOfGuest(guest, { path: "/etc/os-release", dest: join(host, "renamed") });
    expect(await readFile(join(host, "renamed"), "utf8")).toBe("ID=debian\n");
    expect((await readdir(host)).sort()).toEqual(["os-release", "renamed"]);
  });

  it("copies a directory, leaving out links that point outside the copy", async () => {
    const skipped: string[] = [];
    await copyOutOfGuest(
      localGuest(),
      { path: "/etc/app", dest: host },
      { onSkippedLink: (name, to) => skipped.push(`${name} -> ${to}`) },
    );
    expect(skipped).toEqual(["app/evil -> /etc/shadow"]);
    expect((await readdir(join(host, "app"))).sort()).toEqual(["a.conf", "good", "sub"]);
    expect(await readlink(join(host, "app/good"))).toBe("sub/b.conf");
    expect(await readFile(join(host, "app/sub/b.conf"), "utf8")).toBe("b\n");
  });

  it("merges a directory into an existing one, replacing a host link instead of following it", async () => {
    const outside = join(dir, "outside.txt");
    await writeFile(outside, "host\n");
    await mkdir(join(host, "app"));
    await writeFile(join(host, "app/mine"), "kept\n");
    await symlink(outside, join(host, "app/a.conf"));
    await copyOutOfGuest(localGuest(), { path: "/etc/app", dest: host });
    expect(await readFile(outside, "utf8")).toBe("host\n");
    expect(await readFile(join(host, "app/a.conf"), "utf8")).toBe("a\n");
    expect(await readFile(join(host, "app/mine"), "utf8")).toBe("kept\n");
    expect((await readdir(host)).filter((e) => e.startsWith(".strata-cp-"))).toEqual([]);
  });

  it("refuses a missing source, a directory over a file, and a DEST whose parent is missing", async () => {
    const guest = localGuest();
    await expect(copyOutOfGuest(guest, { path: "/nope", dest: host })).rejects.toMatchObject({
      code: "COPY_OUT_SOURCE_MISSING",
    });
    await writeFile(join(host, "app"), "a file\n");
    await expect(copyOutOfGuest(guest, { path: "/etc/app", dest: host })).rejects.toMatchObject({
      code: "COPY_OUT_DEST_INVALID",
    });
    await expect(
      copyOutOfGuest(guest, { path: "/etc/os-release", dest: join(host, "no/such/file") }),
    ).rejects.toMatchObject({ code: "COPY_OUT_DEST_INVALID" });
    expect(await readFile(join(host, "app"), "utf8")).toBe("a file\n");
    expect((await readdir(host)).sort()).toEqual(["app"]);
  });

  it("refuses a source that is a link pointing outside, writing nothing", async () => {
    await expect(
      copyOutOfGuest(localGuest(), { path: "/etc/app/evil", dest: host }),
    ).rejects.toMatchObject({ code: "COPY_OUT_SOURCE_MISSING" });
    expect(await readdir(host)).toEqual([]);
  });
});

// The guest is an attacker (docs/security.md, "Host file system"): a root step plants its own
// `tar` first on sudo's secure_path, so the copy cache's trip back to the host carries a symlink
// to a host directory followed by a file under it, and a symlink to a host file followed by a
// regular file of the same name. The host must write nothing outside the store, keep the cache's
// previous version and fail the step with the documented error. A second build puts `$(...)` in
// a copy's src. One cold boot in all: every later step resumes its parent's saved state.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { openStore } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStore, type TestStore } from "./support/test-store.js";

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, "..", "apps", "cli", "bin", "strata.js");

const PREFIX = `((build empty ((from debian-bookworm)))
 (from debian-bookworm)
 (user (uid 0) (gid 0))
 (copy (src evil.tar) (dst /root/evil.tar))
 (run (cache (loot (target /home/opam/loot))) (shell "echo kept > /home/opam/loot/keep"))
 (run (shell "printf '#!/bin/sh\\ncase \\"$1\\" in -cf) exec cat /root/evil.tar ;; esac\\nexec /usr/bin/tar \\"$@\\"\\n' > /usr/local/sbin/tar && chmod 755 /usr/local/sbin/tar && echo planted"))`;
const TAR_SPEC = `${PREFIX}
 (run (cache (loot (target /home/opam/loot))) (shell "echo new > /home/opam/loot/new")))
`;
const COPY_SPEC = `${PREFIX}
 (copy (from (build empty)) (src "/opt/$(echo INJECTED)") (dst /root/x)))
`;

describe("a hostile guest against the host's file system", () => {
  let store: TestStore;
  let work = "";
  let outside = "";
  let victim = "";

  beforeAll(async () => {
    store = await createTestStore("strata-hostile-");
    work = await mkdtemp(join(tmpdir(), "strata-hostile-ctx-"));
    outside = join(work, "host-outside");
    victim = join(outside, "victim.txt");
    await mkdir(outside);
    await writeFile(victim, "host file\n");
    // The hostile archive, made with GNU tar: links first, then files written through them.
    const context = join(work, "context");
    const [d1, d2] = [join(work, "d1"), join(work, "d2")];
    await mkdir(context);
    await mkdir(join(d2, "esc"), { recursive: true });
    await mkdir(d1);
    await symlink(outside, join(d1, "esc"));
    await symlink(victim, join(d1, "v"));
    await writeFile(join(d2, "esc", "planted"), "pwned\n");
    await writeFile(join(d2, "v"), "pwned\n");
    const evil = join(context, "evil.tar");
    await exec("tar", ["-cf", evil, "-C", d1, "./esc", "./v"]);
    await exec("tar", ["-rf", evil, "-C", d2, "./esc/planted", "./v"]);
    await writeFile(join(work, "tar.spec"), TAR_SPEC);
    await writeFile(join(work, "copy.spec"), COPY_SPEC);
  });
  afterAll(async () => {
    await store?.[Symbol.asyncDispose]();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const build = (spec: string) =>
    exec(
      "node",
      // A long boot limit: under TCG on a loaded machine the first boot took over 300 s.
      [
        CLI,
        "build",
        `--store=qemu:${store.root}`,
        "--cache-strategy",
        "copy",
        "--qemu-boot-time",
        "900",
        "-f",
        spec,
        ".",
      ],
      { cwd: join(work, "context"), maxBuffer: 64 * 2 ** 20 },
    ).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it("refuses a cache stream that writes through links; the host and the cache are unchanged", async () => {
    const r = await build(join(work, "tar.spec"));
    expect(r.stdout).toContain("planted");
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("Could not bring cache back from the guest");
    expect(r.stderr).toContain(
      'Refused a tar stream from the guest: entry "./esc/planted" goes through "esc", which is a symlink',
    );
    expect(await readdir(outside)).toEqual(["victim.txt"]);
    expect(await readFile(victim, "utf8")).toBe("host file\n");
    const s = await openStore({ root: store.root });
    try {
      const versions = await readdir(s.cacheDir("loot"));
      expect(versions.filter((v) => v.startsWith("v"))).toEqual(["v1.tree"]);
      expect(await readdir(join(s.cacheDir("loot"), "v1.tree"))).toEqual(["keep"]);
    } finally {
      s.close();
    }
    expect(await readdir(join(store.root, "result-tmp"))).toEqual([]);
  });

  it("never runs a $(...) in a copy's src", async () => {
    const r = await build(join(work, "copy.spec"));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("copy source opt/$(echo INJECTED) does not exist");
    expect(r.stderr).not.toContain("copy source opt/INJECTED");
  });
});

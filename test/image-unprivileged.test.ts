// The Debian base image built by an ordinary user: `strata-image build debian-bookworm` runs as
// an unprivileged user (mmdebstrap --mode=unshare, the tree unpacked under fakeroot for
// mke2fs), then that user builds a spec on it. The guest must boot, take SSH, and hold root's
// files as root's: sudo (setuid root) works, /etc/shadow is root:shadow 0640.
// As root, the test runs the commands as $STRATA_TEST_USER (a user with subordinate ids in
// /etc/subuid and /etc/subgid; .ci/run makes one); as an ordinary user, as that user. One image
// build (a few minutes) and one cold boot.
import { execFile } from "node:child_process";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, "..");
const CLI = join(ROOT, "apps", "cli", "bin", "strata.js");
const IMAGE_CLI = join(ROOT, "apps", "image-builder", "bin", "strata-image.js");
const asRoot = process.getuid?.() === 0;
const user = asRoot ? process.env.STRATA_TEST_USER : userInfo().username;

/** Runs `node ARGS` as `user` (through runuser when we are root), in `cwd`. */
async function runAs(cwd: string, args: string[]): Promise<{ code: number; out: string }> {
  const [file, argv] = asRoot
    ? ["runuser", ["-u", user!, "--", process.execPath, ...args]]
    : [process.execPath, args];
  try {
    const r = await exec(file, argv, {
      cwd,
      maxBuffer: 64 << 20,
      // Only PATH and HOME: no cache or store directory of the test's own user leaks in.
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd },
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

describe.skipIf(!user)(`the Debian image built by an ordinary user (${user ?? "unset"})`, () => {
  let dir = "";
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("builds without root, boots, and keeps root's files root's", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-e2e-unpriv-"));
    if (asRoot) {
      const { stdout } = await exec("id", ["-u", user!]);
      const { stdout: gid } = await exec("id", ["-g", user!]);
      await chown(dir, Number(stdout), Number(gid));
    }
    const store = `--store=qemu:${join(dir, "store")}`;
    const image = await runAs(dir, [
      IMAGE_CLI,
      "build",
      "debian-bookworm",
      store,
      "--progress=plain",
    ]);
    expect(image.out).toContain("unshare mode");
    expect(image.code, image.out).toBe(0);

    await writeFile(
      join(dir, "check.spec"),
      `((from debian-bookworm)
 (run (shell "stat -c '%U:%G %a %n' /etc/shadow /usr/bin/sudo /home/opam/.ssh/authorized_keys && sudo -n id -un")))
`,
    );
    if (asRoot) await exec("chown", [user!, join(dir, "check.spec")]);
    const build = await runAs(dir, [
      CLI,
      "build",
      store,
      "--progress=plain",
      "-f",
      "check.spec",
      ".",
    ]);
    expect(build.code, build.out).toBe(0);
    expect(build.out).toContain("root:shadow 640 /etc/shadow");
    expect(build.out).toContain("root:root 4755 /usr/bin/sudo");
    expect(build.out).toContain("opam:opam 600 /home/opam/.ssh/authorized_keys");
    expect(build.out).toMatch(/^root$/m);
  }, 1_800_000);
});

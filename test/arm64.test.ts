// arm64 end to end on this x86 host, under TCG: a two-stage spec whose amd64 stage makes files
// the arm64 stage copies, then copy, user, workdir, a cache and a secret on the arm64 image
// (built under qemu-user, cached like the amd64 one: support/base-image.mjs), every arm64 step
// in one VM (warm starts); then a changed last step resumes the arm64 VM's saved state.
// Two boots (one per architecture) and one resume in all.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { link, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildEvent, runBuild } from "@strata/builder";
import { ARM64_DEBIAN_RECIPE } from "@strata/image-builder/internal";
import { parseSpecOrThrow } from "@strata/spec-parser";
import { openStore } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestBaseImage, testImageDir } from "./support/base-image.mjs";
import { createTestStore, type TestStore } from "./support/test-store.js";

const SECRET = "arm64-secret-that-must-not-leak";
const ARM = ARM64_DEBIAN_RECIPE.name;

// The last step has a secret: its VM is powered off (no state saved with a secret in RAM), which
// is the power-off path (system_powerdown, the guest's own shutdown) on aarch64 virt.
const spec = (last: string) => `((build x86
        ((from debian-bookworm)
         (run (shell "mkdir -p /opt/x86 && uname -m > /opt/x86/arch && echo x86-stage-on-$(uname -m)"))))
 (from ${ARM})
 (workdir /home/opam/app)
 (user (uid 1000) (gid 1000))
 (copy (from (build x86)) (src /opt/x86) (dst /home/opam/x86))
 (copy (src hello.txt) (dst ./))
 (run (cache (downloads (target /home/opam/cache)))
      (shell "echo arch=$(uname -m) id=$(id -u):$(id -g) pwd=$(pwd); echo copied=$(cat /home/opam/x86/arch) owner=$(stat -c %u /home/opam/x86/arch); cat hello.txt; echo filled > /home/opam/cache/stamp"))
 (run (cache (downloads (target /home/opam/cache)))
      (secrets (token (target /run/secrets/token)))
      (shell "echo secret-sha=$(sha256sum < /run/secrets/token | cut -c1-64); cat /home/opam/cache/stamp; ${last}")))
`;

// The arm64 image takes about an hour to build here (mmdebstrap under qemu-user), more than CI's
// budget: this file runs where it is already built (`node test/support/base-image.mjs
// debian-bookworm-arm64`) or with STRATA_TEST_ARM64=1 (then it builds it first).
const armReady =
  process.env.STRATA_TEST_ARM64 === "1" ||
  existsSync(join(testImageDir(ARM64_DEBIAN_RECIPE), `${ARM64_DEBIAN_RECIPE.name}.qcow2`));

describe.skipIf(!armReady)("an arm64 guest on an x86 host", () => {
  let store: TestStore;
  let context: string;

  beforeAll(async () => {
    // Built beforehand, or here with STRATA_TEST_ARM64=1 (about an hour under TCG).
    const armDir = await ensureTestBaseImage({ recipe: ARM64_DEBIAN_RECIPE });
    store = await createTestStore("strata-arm64-");
    for (const f of await readdir(armDir))
      if (f.startsWith(`${ARM}.`)) await link(join(armDir, f), join(store.root, "base-image", f));
    context = await mkdtemp(join(tmpdir(), "strata-arm64-ctx-"));
    await writeFile(join(context, "hello.txt"), "hello from the context\n");
  });

  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await store?.[Symbol.asyncDispose]();
  });

  async function build(text: string) {
    const events: BuildEvent[] = [];
    await using s = await openStore({ root: store.root });
    const id = await runBuild({
      store: s,
      spec: parseSpecOrThrow(text),
      contextDir: context,
      secrets: new Map([["token", Buffer.from(SECRET)]]),
      onEvent: (e) => events.push(e),
      // TCG emulating arm64 on a loaded 2-core machine: boots take minutes.
      bootTimeoutMs: 900_000,
    });
    const output = events.map((e) => (e.type === "output" ? e.chunk.toString() : "")).join("");
    const vms = events.flatMap((e) => (e.type === "vm" ? [e.how] : []));
    return { id, events, output, vms };
  }

  it("builds every op on arm64, copies files from an amd64 stage, resumes a saved arm64 state", async () => {
    const started = Date.now();
    const first = await build(spec("echo first-on-$(uname -m)"));
    console.info(
      `arm64 build (amd64 + arm64 boot): ${Math.round((Date.now() - started) / 1000)} s`,
    );
    const { output } = first;
    expect(output).toContain("x86-stage-on-x86_64");
    expect(output).toContain("arch=aarch64 id=1000:1000 pwd=/home/opam/app");
    // Files made on amd64, read on arm64, owned by the stage's user.
    expect(output).toContain("copied=x86_64 owner=1000");
    expect(output).toContain("hello from the context");
    expect(output).toContain(`secret-sha=${createHash("sha256").update(SECRET).digest("hex")}`);
    expect(output).toMatch(/^filled$/m);
    expect(output).toContain("first-on-aarch64");
    expect(output).not.toContain(SECRET);
    // One VM per stage: the amd64 stage's boot, the arm64 stage's boot, the rest continued; the
    // secret step's VM then powered off by itself (else GUEST_SHUTDOWN_FAILED failed the build).
    expect(first.vms).toEqual([
      "booted",
      "booted",
      "continued",
      "continued",
      "continued",
      "powered-off",
    ]);

    const resumedAt = Date.now();
    // The secret step changed: its parent's saved state (the arm64 VM after the cache step) resumes.
    const second = await build(spec("echo again-on-$(uname -m)"));
    console.info(
      `arm64 rebuild of the last step: ${Math.round((Date.now() - resumedAt) / 1000)} s`,
    );
    expect(second.vms).toEqual(["resumed", "powered-off"]);
    expect(second.output).toContain("again-on-aarch64");
    expect(second.output).toMatch(/^filled$/m);
    expect(second.output).toContain(
      `secret-sha=${createHash("sha256").update(SECRET).digest("hex")}`,
    );
    expect(second.id).not.toBe(first.id);
  }, 3_600_000);
});

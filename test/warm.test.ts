// Warm starts on the Debian test image: one VM per stage, each later step continuing in it on a
// live disk snapshot, gives the same layers and files as booting every step; the states saved
// in the background resume later builds; a state made by another machine, or a corrupt one,
// falls back to a cold boot (and the corrupt one is removed).
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildEvent, runBuild } from "@strata/builder";
import { parseSpecOrThrow } from "@strata/spec-parser";
import { openStore } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestLayerFiles } from "./support/layer-files.js";
import { createTestStore, type TestStore } from "./support/test-store.js";

// Files a booting or running system rewrites by itself (logs, random seeds, clocks, caches of
// cloud-init): they differ between any two runs, warm or not.
const VOLATILE =
  /^\/(var\/log|var\/lib\/systemd|var\/lib\/cloud|var\/lib\/dhcp|var\/tmp|tmp|run|etc\/machine-id|var\/lib\/sudo|var\/cache\/ldconfig|var\/lib\/private|root\/\.bash_history|home\/[^/]+\/\.ssh|var\/lib\/apt|var\/backups|etc\/ssh\/ssh_host)/;

const SPEC = `((from debian-bookworm)
 (workdir /w)
 (run (shell "echo one > one && mkdir -p sub && echo deep > sub/f"))
 (copy (src input.txt) (dst ./))
 (run (cache (warm-cache (target /var/cache/warm)))
      (shell "echo clock=$(date +%s); echo x >> /var/cache/warm/n; echo cache-lines=$(wc -l < /var/cache/warm/n); find /w -type f | sort | xargs sha256sum")))
`;

interface Built {
  id: string;
  events: BuildEvent[];
  /** sha256 of each new layer's image file when the build reported it saved. */
  savedImages: Map<string, string>;
  output: string;
  before: number;
  after: number;
}

function imageDigest(store: TestStore, id: string): string {
  const image = join(store.root, "result", id, "rootfs", "image.qcow2");
  return execFileSync("sha256sum", [image]).toString().slice(0, 64);
}

describe("warm starts", () => {
  let warm: TestStore;
  let cold: TestStore;
  let context: string;

  beforeAll(async () => {
    warm = await createTestStore("strata-warm-");
    cold = await createTestStore("strata-cold-");
    context = await mkdtemp(join(tmpdir(), "strata-warm-ctx-"));
    await writeFile(join(context, "input.txt"), "input\n");
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await warm?.[Symbol.asyncDispose]();
    await cold?.[Symbol.asyncDispose]();
  });

  async function build(
    store: TestStore,
    text: string,
    extra: { warm?: "auto" | "off"; memoryMiB?: number } = {},
    hook: (e: BuildEvent) => void = () => {},
  ): Promise<Built> {
    const events: BuildEvent[] = [];
    const savedImages = new Map<string, string>();
    await using s = await openStore({ root: store.root });
    const before = Date.now() / 1000;
    const id = await runBuild({
      store: s,
      spec: parseSpecOrThrow(text),
      contextDir: context,
      onEvent: (e) => {
        events.push(e);
        if (e.type === "saved") savedImages.set(e.id, imageDigest(store, e.id));
        hook(e);
      },
      // A loaded shared machine can take minutes to boot the guest under TCG.
      bootTimeoutMs: 900_000,
      ...extra,
    });
    const after = Date.now() / 1000;
    const output = events.map((e) => (e.type === "output" ? e.chunk.toString() : "")).join("");
    return { id, events, savedImages, output, before, after };
  }
  const starts = (b: Built) => b.events.flatMap((e) => (e.type === "vm" ? [e.how] : []));
  const digests = (b: Built) => b.output.split("\n").filter((l) => /^[0-9a-f]{64} {2}\//.test(l));

  let warmBuild: Built;

  it("boots once and continues every later step in the same VM, with the clock right", async () => {
    warmBuild = await build(warm, SPEC);
    expect(starts(warmBuild)).toEqual(["booted", "continued", "continued"]);
    // Every layer's state was saved (the continued steps' parents and the last one).
    const warnings = warmBuild.events.flatMap((e) => (e.type === "warning" ? [e.message] : []));
    expect(warnings.filter((m) => m.includes("VM state"))).toEqual([]);
    // The states are compressed beside the steps; the build ends once each is whole and named.
    const stated = [...warmBuild.savedImages.keys()].slice(1);
    for (const id of stated) {
      const dir = join(warm.root, "result", id);
      expect((await readdir(dir)).filter((f) => f.startsWith("vmstate")).sort(), id).toEqual([
        "vmstate.json",
        "vmstate.zst",
      ]);
      execFileSync("zstd", ["-q", "-t", join(dir, "vmstate.zst")]);
    }
    // A layer is final once saved: saving states and stopping the VM change no byte of any
    // layer's image (the last one's too, whose VM is stopped only at the end of the stage).
    expect(warmBuild.savedImages.size).toBe(4);
    for (const [id, digest] of warmBuild.savedImages)
      expect(imageDigest(warm, id), id).toBe(digest);
    for (const e of warmBuild.events)
      if (e.type === "vm" && e.how === "continued") expect(e.snapshotMs).toBeGreaterThanOrEqual(0);
    expect(warmBuild.output).toContain("cache-lines=1");
    const clock = Number(/clock=(\d+)/.exec(warmBuild.output)?.[1]);
    expect(clock).toBeGreaterThanOrEqual(Math.floor(warmBuild.before) - 2);
    expect(clock).toBeLessThanOrEqual(Math.ceil(warmBuild.after) + 2);
  });

  it("gives the same layer IDs and files as booting every step (--warm=off)", async () => {
    const coldBuild = await build(cold, SPEC, { warm: "off" });
    expect(starts(coldBuild)).toEqual(["booted", "booted", "booted"]);
    expect(coldBuild.id).toBe(warmBuild.id);
    expect(digests(coldBuild)).toHaveLength(3);
    expect(digests(coldBuild)).toEqual(digests(warmBuild));
    // Every file of the final layer, read on the host from both stores' disks.
    const a = await digestLayerFiles(warm.root, warmBuild.id);
    const b = await digestLayerFiles(cold.root, coldBuild.id);
    expect(a.size).toBeGreaterThan(1000);
    const differ = [...a].filter(([path, d]) => b.get(path) !== d && !VOLATILE.test(path));
    expect(differ.map(([path]) => path)).toEqual([]);
    expect([...b.keys()].filter((path) => !a.has(path) && !VOLATILE.test(path))).toEqual([]);
  });

  it("resumes after cached steps, then continues in that VM", async () => {
    const next = SPEC.replace(
      /\)\n$/,
      `\n (run (shell "cat /w/one"))\n (run (shell "cat /w/sub/f")))\n`,
    );
    const b = await build(warm, next);
    expect(b.events.filter((e) => e.type === "cached")).toHaveLength(4);
    expect(starts(b)).toEqual(["resumed", "continued"]);
    expect(b.output).toContain("one");
    expect(b.output).toContain("deep");
  });

  it("sets the clock after a long pause and sees a user the step before added", async () => {
    const next = SPEC.replace(
      /\)\n$/,
      `\n (run (shell "useradd -u 1234 -U bob"))\n (user (name bob))\n (run (shell "echo ids=$(id -u):$(id -g); echo now=$(date +%s.%N)")))\n`,
    );
    const PAUSE_MS = 8_000;
    let saved = 0;
    let now = 0;
    const b = await build(warm, next, {}, (e) => {
      // The useradd step is parked (its guest paused) before it is reported saved: holding
      // the build here keeps the guest paused, and its clock stopped, for PAUSE_MS.
      if (e.type === "saved" && ++saved === 1)
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, PAUSE_MS);
      if (e.type === "output" && e.chunk.toString().includes("now=")) now = Date.now() / 1000;
    });
    expect(starts(b)).toEqual(["resumed", "continued"]);
    expect(b.output).toContain("ids=1234:1234");
    const guest = Number(/now=([\d.]+)/.exec(b.output)?.[1]);
    // Unset, the guest's clock would lag by the whole pause.
    expect(Math.abs(guest - now)).toBeLessThan(3);
  });

  it("leaves no partial layer and no VM when cancelled mid-step", async () => {
    const next = SPEC.replace(/\)\n$/, `\n (run (shell "echo started; sleep 600")))\n`);
    const ac = new AbortController();
    const events: BuildEvent[] = [];
    let layers: number;
    {
      // The store is closed before looking: closing waits for the cancelled step to clean up.
      await using s = await openStore({ root: warm.root });
      layers = s.list().length;
      const done = runBuild({
        store: s,
        spec: parseSpecOrThrow(next),
        contextDir: context,
        signal: ac.signal,
        bootTimeoutMs: 900_000,
        onEvent: (e) => {
          events.push(e);
          if (e.type === "output" && e.chunk.toString().includes("started")) ac.abort();
        },
      });
      await expect(done).rejects.toThrow();
    }
    expect(events.some((e) => e.type === "vm")).toBe(true);
    expect(await readdir(join(warm.root, "result-tmp")).catch(() => [])).toEqual([]);
    await using s = await openStore({ root: warm.root });
    expect(s.list()).toHaveLength(layers);
    expect(s.list().some((l) => l.description.includes("sleep 600"))).toBe(false);
    const qemus = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
    expect(qemus.split("\n").filter((l) => l.includes(warm.root))).toEqual([]);
  });

  it("boots cold when the saved state was made by another machine, and says why", async () => {
    const next = SPEC.replace(/\)\n$/, `\n (run (shell "cat one")))\n`);
    const b = await build(warm, next, { memoryMiB: 1536 });
    expect(b.events.filter((e) => e.type === "vm")).toEqual([
      {
        type: "vm",
        how: "booted",
        ms: expect.any(Number),
        reason: { code: "other-machine", differs: [{ key: "memoryMiB", saved: 1024, now: 1536 }] },
      },
    ]);
    expect(b.output).toContain("one");
  });

  it("boots cold from a corrupt state, and removes it", async () => {
    const state = join(warm.root, "result", warmBuild.id, "vmstate.zst");
    const size = (await stat(state)).size;
    await truncate(state, Math.floor(size / 3));
    const next = SPEC.replace(/\)\n$/, `\n (run (shell "cat sub/f")))\n`);
    const b = await build(warm, next);
    expect(
      b.events.some(
        (e) => e.type === "warning" && /saved VM state of .* is unusable/.test(e.message),
      ),
    ).toBe(true);
    expect(b.output).toContain("deep");
    await expect(stat(state)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

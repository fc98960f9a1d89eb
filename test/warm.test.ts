// Warm starts on the Debian test image (steps with secrets never save a state: see
// hostile-guest-secrets-network.test.ts): a build whose steps resume the parent's saved VM state
// gives the same results as one that boots every step; a state made by another machine, or a
// corrupt one, falls back to a cold boot (and the corrupt one is removed).
import { mkdtemp, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildEvent, runBuild } from "@strata/builder";
import { parseSpecOrThrow } from "@strata/spec-parser";
import { openStore } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStore, type TestStore } from "./support/test-store.js";

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
  output: string;
  before: number;
  after: number;
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
  ): Promise<Built> {
    const events: BuildEvent[] = [];
    await using s = await openStore({ root: store.root });
    const before = Date.now() / 1000;
    const id = await runBuild({
      store: s,
      spec: parseSpecOrThrow(text),
      contextDir: context,
      onEvent: (e) => events.push(e),
      ...extra,
    });
    const after = Date.now() / 1000;
    const output = events.map((e) => (e.type === "output" ? e.chunk.toString() : "")).join("");
    return { id, events, output, before, after };
  }
  const infos = (b: Built) => b.events.flatMap((e) => (e.type === "info" ? [e.message] : []));
  const digests = (b: Built) => b.output.split("\n").filter((l) => /^[0-9a-f]{64} {2}\//.test(l));

  let warmBuild: Built;

  it("resumes every step after the first from the saved state, with the clock set", async () => {
    warmBuild = await build(warm, SPEC);
    const boots = infos(warmBuild).filter((m) => /^(booted|resumed)/.test(m));
    expect(boots).toHaveLength(3);
    expect(boots[0]).toMatch(/^booted/);
    expect(boots.slice(1).every((m) => m.startsWith("resumed from the parent's saved state"))).toBe(
      true,
    );
    expect(warmBuild.output).toContain("cache-lines=1");
    const clock = Number(/clock=(\d+)/.exec(warmBuild.output)?.[1]);
    expect(clock).toBeGreaterThanOrEqual(Math.floor(warmBuild.before) - 2);
    expect(clock).toBeLessThanOrEqual(Math.ceil(warmBuild.after) + 2);
  });

  it("gives the same results as booting every step (--warm=off)", async () => {
    const coldBuild = await build(cold, SPEC, { warm: "off" });
    expect(infos(coldBuild).filter((m) => m.startsWith("resumed"))).toEqual([]);
    expect(coldBuild.id).toBe(warmBuild.id);
    expect(digests(coldBuild)).toHaveLength(3);
    expect(digests(coldBuild)).toEqual(digests(warmBuild));
  });

  it("boots cold when the saved state was made by another machine, and says why", async () => {
    const next = SPEC.replace(/\)\n$/, `\n (run (shell "cat one")))\n`);
    const b = await build(warm, next, { memoryMiB: 1536 });
    expect(infos(b).join("\n")).toMatch(
      /cold boot: the saved VM state was made by another machine \(memoryMiB: 1024 then, 1536 now\)/,
    );
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

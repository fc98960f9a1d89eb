// Test helpers, exported as "@strata/fleet/testing" for the CLI's tests too: a redis-server of
// the test's own, stores with a tiny base image and layers made without a VM, and specs whose
// every step is then a cache hit.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { BuildEvent } from "@strata/builder";
import { withParentDeath } from "@strata/host-tool";
import { parseSpecOrThrow, type Spec } from "@strata/spec-parser";
import { openStore, type Store } from "@strata/store";
import { describeBaseImages } from "./base-info.js";
import { computeLayerChain } from "./layer-chain.js";

const run = promisify(execFile);

/** A redis-server of a test's own: 127.0.0.1, a free port, no persistence, a temp dir. */
export interface TestRedis extends AsyncDisposable {
  readonly url: URL;
  readonly port: number;
  /** Stops and starts it again on the same port (its data is gone: no persistence). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export async function startRedis(o: { password?: string } = {}): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), "strata-redis-"));
  const port = await freePort();
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--maxmemory-policy",
    "noeviction",
    "--dir",
    dir,
    ...(o.password ? ["--requirepass", o.password] : []),
  ];
  let child: ChildProcess | undefined;
  const launch = async () => {
    // Dies with this process (see withParentDeath): a test killed mid-run leaves no server.
    const c = spawn(...withParentDeath(["redis-server", ...args]), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = c;
    await new Promise<void>((resolve, reject) => {
      let out = "";
      c.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("Ready to accept connections")) resolve();
      });
      c.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    });
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
  };
  await launch();
  const url = new URL(`redis://${o.password ? `:${o.password}@` : ""}127.0.0.1:${port}`);
  return {
    url,
    port,
    stop,
    async restart() {
      await stop();
      await launch();
    },
    async [Symbol.asyncDispose]() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const BASE = "tiny";

/**
 * Holds the build of the store's base layer until released: a job that builds on it stays
 * running without a word. `release` ends the hold and waits for it.
 */
export async function holdBaseBuild(store: Store): Promise<{ release(): Promise<void> }> {
  const [base] = await describeBaseImages(store);
  const held = new AbortController();
  const hang = store
    .build(
      base!.layerId,
      { base: BASE, description: "held", signal: held.signal },
      () =>
        new Promise<void>((_, reject) =>
          held.signal.addEventListener("abort", () => reject(new Error("released"))),
        ),
    )
    .catch(() => {});
  return {
    release: async () => {
      held.abort();
      await hang;
    },
  };
}

export interface TestStore extends AsyncDisposable {
  readonly store: Store;
  readonly root: string;
}

export async function createTestStore(): Promise<TestStore> {
  const root = mkdtempSync(join(tmpdir(), "strata-fleet-store-"));
  mkdirSync(join(root, "base-image"), { recursive: true });
  await run("qemu-img", [
    "create",
    "-q",
    "-f",
    "qcow2",
    join(root, "base-image", `${BASE}.qcow2`),
    "16M",
  ]);
  const store = await openStore({ root });
  return {
    store,
    root,
    async [Symbol.asyncDispose]() {
      await store[Symbol.asyncDispose]();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function testSpec(command: string): { spec: Spec; text: string } {
  const text = `((from ${BASE})\n (run (shell "${command}")))\n`;
  return { spec: parseSpecOrThrow(text, { file: "build.spec" }), text };
}

export function testContext(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "strata-fleet-ctx-"));
  writeFileSync(join(dir, "hello.txt"), "hello\n");
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Puts the spec's layers into the store as a build would leave them (empty overlays, a log),
 * so a worker runs the spec with no VM: every step is a cache hit that replays its log.
 */
export async function seedLayers(store: Store, spec: Spec, contextDir: string): Promise<string[]> {
  const bases = await describeBaseImages(store);
  const base = bases.find((b) => b.name === BASE)!;
  await store.build(base.layerId, { base: BASE, description: `(from ${BASE})` }, async () => {});
  const chain = await computeLayerChain(spec, contextDir, (n) => bases.find((b) => b.name === n));
  let parent = base.layerId;
  for (const id of chain) {
    await store.build(id, { parent, description: "seeded" }, async (layer) => {
      layer.log(`output of ${id.slice(0, 8)}\n`);
    });
    parent = id;
  }
  return chain;
}

export function collect(): { events: BuildEvent[]; onEvent: (e: BuildEvent) => void } {
  const events: BuildEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

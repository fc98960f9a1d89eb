// End to end through a real registry (Debian's docker-registry on 127.0.0.1): store A builds
// and pushes; store B, holding only the base image, builds the same spec with no VM; A's base
// image goes to an empty store C, which builds on it while the registry is stopped mid-build;
// a pull killed mid-blob resumes; B rebuilds with --no-cache and pushes only what the registry
// lacks. Three cold boots in all (A's first step, C's new step, B's rebuild).
import { execFile, spawn } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type BuildEvent, runBuild } from "@strata/builder";
import { RegistryClient } from "@strata/registry";
import { startTestRegistry, type TestRegistry } from "@strata/registry/testing";
import { parseSpecOrThrow } from "@strata/spec-parser";
import { openStore } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStore, type TestStore } from "./support/test-store.js";

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, "..", "apps", "cli", "bin", "strata.js");
const IMAGE_CLI = join(
  import.meta.dirname,
  "..",
  "apps",
  "image-builder",
  "bin",
  "strata-image.js",
);

// The first step writes 3 MB that do not compress: its blob is big enough to kill a pull mid-way.
const SPEC = `((from debian-bookworm)
 (run (shell "head -c 3000000 /dev/urandom > /noise && echo one > /one && echo made-one"))
 (copy (src a.txt) (dst /a.txt))
 (run (shell "cat /a.txt /one > /two && echo made-two")))
`;
const SPEC_C = SPEC.replace(/\)\n$/, `\n (run (shell "cat /two && echo made-three")))\n`);
const SPEC_B = SPEC.replace(/\)\n$/, `\n (run (shell "cat /two && echo made-four")))\n`);

function run(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

async function identical(a: string, b: string): Promise<boolean> {
  const r = await exec("qemu-img", ["compare", "-f", "qcow2", "-F", "qcow2", a, b]).catch((e) => e);
  return (r as { stdout?: string }).stdout?.includes("Images are identical") === true;
}

describe("layers and base images through a registry", () => {
  let registry: TestRegistry;
  let ref: string;
  let storeA: TestStore;
  let context: string;
  let specs: string;
  let finalA: string;
  let storeB: TestStore;
  const client = () =>
    new RegistryClient({ registry: registry.registry, credentials: async () => undefined });
  const cleanups: (() => PromiseLike<unknown>)[] = [];

  beforeAll(async () => {
    registry = await startTestRegistry();
    ref = `${registry.registry}/strata`;
    storeA = await createTestStore("strata-e2e-reg-a-");
    context = await mkdtemp(join(tmpdir(), "strata-ctx-"));
    await writeFile(join(context, "a.txt"), "from the context\n");
    specs = await mkdtemp(join(tmpdir(), "strata-specs-"));
    await writeFile(join(specs, "a.spec"), SPEC);
    await writeFile(join(specs, "b.spec"), SPEC_B);
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await rm(context, { recursive: true, force: true });
    await rm(specs, { recursive: true, force: true });
    await storeA?.[Symbol.asyncDispose]();
    await registry?.[Symbol.asyncDispose]();
  });

  it("store A builds with --registry and pushes every layer", async () => {
    const r = await run(CLI, [
      "build",
      `--store=qemu:${storeA.root}`,
      "--registry",
      ref,
      "-f",
      join(specs, "a.spec"),
      context,
    ]);
    expect(r.stderr + r.stdout).toContain("made-two");
    expect(r.code).toBe(0);
    finalA = /Got: "([0-9a-f]{64})"/.exec(r.stdout)?.[1] ?? "";
    expect(finalA).toMatch(/^[0-9a-f]{64}$/);
    const tags = await new RegistryClient({
      registry: registry.registry,
      credentials: async () => undefined,
    }).listTags("strata");
    expect(tags).toHaveLength(4); // the base layer and three steps
    expect(tags).toContain(finalA);
  });

  it("store B, holding only the base image, builds the same spec without a VM", async () => {
    storeB = await createTestStore("strata-e2e-reg-b-");
    cleanups.push(() => storeB[Symbol.asyncDispose]());
    // Any attempt to start QEMU fails loudly: the stub stands first on PATH.
    const fake = await mkdtemp(join(tmpdir(), "strata-no-qemu-"));
    cleanups.push(() => rm(fake, { recursive: true, force: true }));
    const marker = join(fake, "started");
    for (const name of ["qemu-system-x86_64", "qemu-system-aarch64"]) {
      await writeFile(join(fake, name), `#!/bin/sh\ntouch ${marker}\nexit 97\n`);
      await chmod(join(fake, name), 0o755);
    }
    const r = await run(
      CLI,
      [
        "build",
        `--store=qemu:${storeB.root}`,
        "--registry",
        ref,
        "-f",
        join(specs, "a.spec"),
        context,
      ],
      { PATH: `${fake}:${process.env.PATH}` },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Got: "${finalA}"`);
    expect(r.stdout).toContain("made-one");
    expect(r.stdout).toContain("made-two");
    // The first layer is only an overlay of the base image, made here; the three steps are pulled.
    expect(r.stdout.match(/from cache/g)?.length).toBe(3);
    await expect(stat(marker)).rejects.toThrow(/ENOENT/);
    expect(
      await identical(
        join(storeA.root, "result", finalA, "rootfs", "image.qcow2"),
        join(storeB.root, "result", finalA, "rootfs", "image.qcow2"),
      ),
    ).toBe(true);
  });

  it("A's base image goes to an empty store C, which builds on it; the registry stops mid-build", async () => {
    const push = await run(IMAGE_CLI, [
      "push",
      "debian-bookworm",
      `${registry.registry}/images`,
      `--store=qemu:${storeA.root}`,
    ]);
    expect(push.code, push.stderr).toBe(0);
    const storeC = await mkdtemp(join(tmpdir(), "strata-e2e-reg-c-"));
    cleanups.push(() => rm(storeC, { recursive: true, force: true }));
    const manifest = JSON.parse(
      await readFile(join(storeA.root, "base-image", "debian-bookworm.json"), "utf8"),
    );
    const key = resolve(storeA.root, "base-image", manifest.ssh.privateKey);
    const pull = await run(IMAGE_CLI, [
      "pull",
      `${registry.registry}/images:debian-bookworm`,
      "debian-bookworm",
      `--store=qemu:${storeC}`,
      "--ssh-key",
      key,
    ]);
    expect(pull.code, pull.stderr).toBe(0);
    const files = await readdir(join(storeC, "base-image"));
    expect(files).toContain("debian-bookworm.qcow2");
    expect(files).toContain("debian-bookworm.key");
    const pulledManifest = await readFile(
      join(storeC, "base-image", "debian-bookworm.json"),
      "utf8",
    );
    expect(pulledManifest).toContain('"privateKey": "debian-bookworm.key"');

    const events: BuildEvent[] = [];
    await using store = await openStore({ root: storeC });
    const id = await runBuild({
      store,
      spec: parseSpecOrThrow(SPEC_C, { file: "c.spec" }),
      contextDir: context,
      registry: {
        client: new RegistryClient({
          registry: registry.registry,
          credentials: async () => undefined,
          retries: 0,
        }),
        repository: "strata",
      },
      onEvent: (e) => {
        events.push(e);
        // A's layers came from the registry; now it goes away before C's own step.
        if (e.type === "cached" && e.id === finalA) void registry.stop();
      },
    });
    const output = events.map((e) => (e.type === "output" ? e.chunk.toString() : "")).join("");
    expect(output).toContain("made-two"); // replayed from the pulled layer
    expect(output).toContain("from the context\none\nmade-three");
    expect(events.filter((e) => e.type === "cached")).toHaveLength(3);
    expect(events.filter((e) => e.type === "saved")).toHaveLength(2); // the first layer and C's step
    const warnings = events
      .filter((e) => e.type === "warning")
      .map((e) => (e.type === "warning" ? e.message : ""));
    expect(warnings.some((w) => w.includes("registry") && w.includes("without the registry"))).toBe(
      true,
    );
    expect(store.lookup(id)?.parent).toBe(finalA);
    await registry.start();
  });

  it("a pull killed mid-blob resumes, and the store stays consistent", async () => {
    const storeD = await createTestStore("strata-e2e-reg-d-");
    cleanups.push(() => storeD[Symbol.asyncDispose]());
    // A proxy that holds a blob's body back once 256 KiB of it went through (so the kill lands
    // mid-blob, deterministically) and records Range headers.
    const HOLD_AT = 256 * 1024;
    let hold = true;
    let held = false;
    const ranges: string[] = [];
    const proxy: Server = createServer((req, res) => {
      if (req.headers.range) ranges.push(req.headers.range);
      const upstream = httpRequest(
        {
          host: "127.0.0.1",
          port: registry.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          let sent = 0;
          up.on("data", (chunk: Buffer) => {
            res.write(chunk);
            sent += chunk.length;
            if (hold && sent >= HOLD_AT && req.url?.includes("/blobs/")) {
              held = true;
              up.pause(); // never resumed: the client is killed while it waits
            }
          });
          up.on("end", () => res.end());
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((done) => proxy.listen(0, "127.0.0.1", done));
    cleanups.push(() => {
      proxy.closeAllConnections();
      return new Promise((done) => proxy.close(done));
    });
    const viaProxy = `127.0.0.1:${(proxy.address() as AddressInfo).port}/strata`;
    const child = spawn(process.execPath, [
      CLI,
      "pull",
      viaProxy,
      finalA,
      `--store=qemu:${storeD.root}`,
    ]);
    const downloads = join(storeD.root, "download");
    let partial = 0;
    for (let i = 0; i < 600 && !(held && partial >= HOLD_AT); i++) {
      await new Promise((done) => setTimeout(done, 100));
      const names = await readdir(downloads).catch(() => [] as string[]);
      const sizes = await Promise.all(
        names.map((n) =>
          stat(join(downloads, n)).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      );
      partial = Math.max(0, ...sizes);
    }
    expect(held).toBe(true);
    expect(partial).toBeGreaterThanOrEqual(HOLD_AT);
    child.kill("SIGKILL");
    await new Promise((done) => child.on("close", done));
    hold = false;
    const again = await run(CLI, ["pull", viaProxy, finalA, `--store=qemu:${storeD.root}`]);
    expect(again.code, again.stderr).toBe(0);
    expect(ranges.some((r) => /^bytes=[1-9]\d*-$/.test(r))).toBe(true);
    expect(
      await identical(
        join(storeA.root, "result", finalA, "rootfs", "image.qcow2"),
        join(storeD.root, "result", finalA, "rootfs", "image.qcow2"),
      ),
    ).toBe(true);
    expect(await readdir(join(storeD.root, "result-tmp"))).toEqual([]);
    expect(await readdir(downloads)).toEqual([]);
    const check = await run(CLI, ["store", "check", `--store=qemu:${storeD.root}`]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
  it("--no-cache with --registry rebuilds without pulling, pushes only what the registry lacks, and a layer built on the rebuilt disk is refused where the old one is", async () => {
    const before = await client().headManifest("strata", finalA);
    expect(before?.digest).toMatch(/^sha256:/);
    const r = await run(CLI, [
      "build",
      `--store=qemu:${storeB.root}`,
      "--registry",
      ref,
      "--no-cache",
      "--progress=plain",
      "-f",
      join(specs, "b.spec"),
      context,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout + r.stderr;
    for (const made of ["made-one", "made-two", "made-four"]) expect(out).toContain(made);
    expect(out.match(/saved as/g)?.length).toBe(4); // every step ran again
    expect(out).toContain(", 0 pulled"); // the summary line
    expect(out).not.toContain("pulled from the registry");
    const finalB = /Got: "([0-9a-f]{64})"/.exec(r.stdout)?.[1] ?? "";
    expect(finalB).toMatch(/^[0-9a-f]{64}$/);
    // The registry kept its copy of every step it had (same manifest), and got the new one.
    expect(await client().headManifest("strata", finalA)).toEqual(before);
    expect(await client().listTags("strata")).toContain(finalB);
    // B rebuilt A's steps: /noise differs, so B's step four stands on another disk than A's.
    expect(
      await identical(
        join(storeA.root, "result", finalA, "rootfs", "image.qcow2"),
        join(storeB.root, "result", finalA, "rootfs", "image.qcow2"),
      ),
    ).toBe(false);
    const pull = await run(CLI, ["pull", ref, finalB, `--store=qemu:${storeA.root}`]);
    expect(pull.code).not.toBe(0);
    expect(pull.stderr).toContain("built on another disk of its parent");
    const check = await run(CLI, ["store", "check", `--store=qemu:${storeA.root}`]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const show = await run(CLI, ["inspect", finalB, `--store=qemu:${storeA.root}`]);
    expect(show.code).not.toBe(0);
  });
});

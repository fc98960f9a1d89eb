// End to end: a multi-stage spec with env, workdir, user, copy with exclude, run, a cache and
// a secret, built in real VMs on the Debian test image; then rebuilt from the cache, rebuilt
// after a context change, a failing step, and Ctrl-C. Few boots, each checking much.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type BuildEvent, bootLayer, copyFromStageDisk, runBuild } from "@strata/builder";
import { parseSpecOrThrow } from "@strata/spec-parser";
import { openStore } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  convertRawToQcow2,
  convertToRaw,
  makeJournaledExt4,
  readExt4FileWithoutReplay,
} from "./support/ext4-journal.js";
import { createTestStore, type TestStore } from "./support/test-store.js";

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, "..", "apps", "cli", "bin", "strata.js");
const SECRET = "s3cret-value-that-must-not-leak";

// Shared with bench/build-modes.mjs, which times it with and without warm starts.
const SPEC = readFileSync(join(import.meta.dirname, "fixtures", "build.spec"), "utf8");

describe("strata build in real VMs", () => {
  let store: TestStore;
  let context: string;
  let secretFile: string;
  let specs: string;

  beforeAll(async () => {
    store = await createTestStore();
    context = await mkdtemp(join(tmpdir(), "strata-ctx-"));
    await writeFile(join(context, "a.txt"), "version one\n");
    await writeFile(join(context, "run.sh"), "#!/bin/sh\n");
    await chmod(join(context, "run.sh"), 0o700);
    await mkdir(join(context, "junk"));
    await writeFile(join(context, "junk", "x"), "x");
    await mkdir(join(context, "sub", "junk"), { recursive: true });
    await writeFile(join(context, "sub", "keep"), "k");
    // Specs and the secret live outside the context, so writing them changes no copy step.
    specs = await mkdtemp(join(tmpdir(), "strata-specs-"));
    await writeFile(join(specs, "build.spec"), SPEC);
    secretFile = join(specs, "secret");
    await writeFile(secretFile, SECRET);
  });

  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await rm(specs, { recursive: true, force: true });
    await store?.[Symbol.asyncDispose]();
  });

  async function build(): Promise<{ id: string; events: BuildEvent[]; output: string }> {
    const events: BuildEvent[] = [];
    await using s = await openStore({ root: store.root });
    const id = await runBuild({
      store: s,
      spec: parseSpecOrThrow(await readFile(join(specs, "build.spec"), "utf8"), {
        file: "build.spec",
      }),
      contextDir: context,
      secrets: new Map([["token", Buffer.from(SECRET)]]),
      onEvent: (e) => events.push(e),
    });
    const output = events.map((e) => (e.type === "output" ? e.chunk.toString() : "")).join("");
    return { id, events, output };
  }

  let first: Awaited<ReturnType<typeof build>>;

  it("builds every step in a VM, applying env, workdir, user, copies, caches and secrets", async () => {
    first = await build();
    const { output, events } = first;
    expect(output).toContain("made-tool");
    expect(output).toContain("hello from 1000:1000 in /home/opam/app");
    expect(output).toContain(`secret-sha=${createHash("sha256").update(SECRET).digest("hex")}`);
    expect(output).toContain("tool-v1");
    expect(output).toContain("tool-owner=1000");
    expect(output).toContain("version one");
    expect(output).toMatch(/^\.\/sub\/keep$/m);
    expect(output).not.toMatch(/junk/);
    expect(output).toMatch(/^755 1000 run\.sh$/m);
    expect(output).toMatch(/^644 1000 a\.txt$/m);
    expect(output).toMatch(/^filled$/m);
    expect(output).toContain("no-secret-now");
    // Seven layers; the main stage's (from debian-bookworm) is the one the tools stage made.
    expect(events.filter((e) => e.type === "saved")).toHaveLength(6);
    expect(events.filter((e) => e.type === "cached")).toHaveLength(1);
    expect(events.at(-1)).toEqual({ type: "done", id: first.id });
  }, 1_800_000);

  it("cuts each layer from a quiesced file system: the stage's last write is in place on disk", async () => {
    // The tools stage's run step wrote /opt/tool/VERSION and ended at once. Read its saved layer
    // the way no guest would: without replaying the ext4 journal.
    const toolsRun = first.events.filter((e) => e.type === "saved")[1];
    if (toolsRun?.type !== "saved") throw new Error("no tools layer");
    const dir = await mkdtemp(join(tmpdir(), "strata-layer-raw-"));
    try {
      const raw = join(dir, "disk.raw");
      await using s = await openStore({ root: store.root });
      await convertToRaw(s.layerImage(toolsRun.id), raw);
      expect(await readExt4FileWithoutReplay(raw, "/opt/tool/VERSION")).toBe("tool-v1\n");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("copies from a stage disk whose newest file is only in its journal, leaving the disk as it was", async () => {
    const dir = await mkdtemp(join(tmpdir(), "strata-journaled-"));
    try {
      const image = join(dir, "stage.qcow2");
      await convertRawToQcow2(
        await makeJournaledExt4(dir, "/opt/tool/VERSION", "journal-only\n"),
        image,
      );
      const digest = async () =>
        createHash("sha256")
          .update(await readFile(image))
          .digest("hex");
      const before = await digest();
      {
        await using s = await openStore({ root: store.root });
        await using guest = await bootLayer({ store: s, id: first.id });
        await copyFromStageDisk(guest, {
          image,
          op: {
            op: "copy",
            from: { build: "journaled" },
            src: ["/opt/tool"],
            dst: "/tmp/j/",
            exclude: [],
          },
          dst: "/tmp/j/",
          user: { uid: 1000, gid: 1000 },
          stage: "journaled",
        });
        const r = await guest.ssh.exec("cat /tmp/j/tool/VERSION; stat -c %u /tmp/j/tool/VERSION", {
          check: true,
        });
        expect(r.stdout).toBe("journal-only\n1000\n");
      }
      expect(await digest()).toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps the secret out of every layer and log", async () => {
    const result = join(store.root, "result");
    let scanned = 0;
    for (const id of await readdir(result)) {
      for (const f of await readdir(join(result, id), { recursive: true })) {
        const path = join(result, id, f);
        const data = await readFile(path).catch(() => undefined);
        if (!data) continue;
        scanned++;
        expect(data.includes(SECRET), `${path} holds the secret`).toBe(false);
      }
    }
    expect(scanned).toBeGreaterThanOrEqual(14); // 7 layers, each an image and a log
  });

  it("rebuilds from the cache without a VM, replaying every step's output", async () => {
    const again = await build();
    expect(again.id).toBe(first.id);
    expect(again.events.filter((e) => e.type === "saved")).toHaveLength(0);
    expect(again.events.filter((e) => e.type === "cached")).toHaveLength(7);
    expect(again.events.filter((e) => e.type === "vm")).toEqual([]);
    expect(again.output).toBe(first.output);
  });

  it("rebuilds only from the copy step on when a context file changes", async () => {
    await writeFile(join(context, "a.txt"), "version two\n");
    const changed = await build();
    expect(changed.id).not.toBe(first.id);
    const kinds = changed.events
      .filter((e) => e.type === "saved" || e.type === "cached")
      .map((e) => e.type);
    expect(kinds).toEqual(["cached", "cached", "cached", "cached", "cached", "saved", "saved"]);
    expect(changed.output).toContain("version two");
    // The cache filled by the earlier build is seen by this one.
    expect(changed.output).toMatch(/^filled$/m);
  });

  it("fails a step with exit status 1 from the CLI and caches nothing for it", async () => {
    const spec = SPEC.replace(/\)\n$/, `\n (run (shell "echo about to fail; exit 3")))\n`);
    await writeFile(join(specs, "fail.spec"), spec);
    const before = (await readdir(join(store.root, "result"))).length;
    const r = await exec(
      "node",
      [
        CLI,
        "build",
        `--store=qemu:${store.root}`,
        "-f",
        join(specs, "fail.spec"),
        "--secret",
        `token:${secretFile}`,
        ".",
      ],
      { cwd: context },
    ).then(
      () => ({ code: 0, stdout: "", stderr: "" }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('---> using "');
    expect(r.stdout).toContain("about to fail");
    expect(r.stderr).toContain("Build step failed: echo about to fail; exit 3: exit status 3");
    expect((await readdir(join(store.root, "result"))).length).toBe(before);
    expect(await readdir(join(store.root, "result-tmp"))).toEqual([]);
  });

  it("stops the VM on Ctrl-C, keeps no partial layer and exits 130", async () => {
    const spec = SPEC.replace(/\)\n$/, `\n (run (shell "echo sleeping; sleep 600")))\n`);
    await writeFile(join(specs, "sleep.spec"), spec);
    const child = spawn(
      "node",
      [
        CLI,
        "build",
        `--store=qemu:${store.root}`,
        "-f",
        join(specs, "sleep.spec"),
        "--secret",
        `token:${secretFile}`,
        ".",
      ],
      { cwd: context },
    );
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        stdout += d;
        if (stdout.includes("sleeping")) resolve();
      });
      child.once("exit", () => reject(new Error(`build ended early:\n${stdout}\n${stderr}`)));
    });
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) =>
      child.once("exit", (c) => resolve(c)),
    );
    expect(code).toBe(130);
    expect(stderr).toContain("interrupted");
    const qemu = await exec("pgrep", ["-f", store.root]).then(
      (r) => r.stdout,
      () => "",
    );
    expect(qemu).toBe("");
    expect(await readdir(join(store.root, "result-tmp"))).toEqual([]);
  });

  it("prints a layer's saved output with strata log", async () => {
    const r = await exec("node", [CLI, "log", `--store=qemu:${store.root}`, first.id]);
    expect(r.stdout).toContain("version one");
  });

  it("opens a shell in a VM on a layer with strata shell, changes discarded", async () => {
    const child = spawn("node", [CLI, "shell", `--store=qemu:${store.root}`, first.id], {
      cwd: context,
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.stdin.write(
      "cat /home/opam/tool/VERSION; touch /tmp/shell-was-here; echo from-shell-$((6*7)); exit 3\n",
    );
    const code = await new Promise<number | null>((resolve) =>
      child.once("exit", (c) => resolve(c)),
    );
    expect(out).toContain("tool-v1");
    expect(out).toContain("from-shell-42");
    expect(code).toBe(3);
    const qemu = await exec("pgrep", ["-f", store.root]).then(
      (r) => r.stdout,
      () => "",
    );
    expect(qemu).toBe("");
  });
});

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSpecOrThrow } from "@strata/spec-parser";
import { openStore } from "@strata/store";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runBuild } from "./engine.js";
import type { BuildEvent } from "./events.js";

let root = "";
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), "strata-engine-"));
  mkdirSync(join(root, "base-image"));
  await execa("qemu-img", [
    "create",
    "-q",
    "-f",
    "qcow2",
    join(root, "base-image", "b.qcow2"),
    "64M",
  ]);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

// Specs of `from` and `env` only: their layers need qemu-img but no VM.
describe("runBuild leases", () => {
  it("holds every layer it reached until the build ends, then lets them go", async () => {
    await using store = await openStore({ root });
    const spec = parseSpecOrThrow("((build tools ((from b))) (from b) (env A 1))", {
      file: "t.spec",
    });
    let leasedAtEnd = new Map<string, string>();
    const id = await runBuild({
      store,
      spec,
      contextDir: root,
      onEvent: (e: BuildEvent) => {
        if (e.type === "done") leasedAtEnd = store.leases();
      },
    });
    // The stage's result and the final layer (here the same base layer) were pinned by us.
    expect([...leasedAtEnd.keys()]).toContain(id);
    expect(leasedAtEnd.get(id)).toContain(`pid ${process.pid}`);
    expect(store.leases().size).toBe(0);
    await expect(store.delete(id)).resolves.toBeDefined();
  });

  it("releases its leases when the build fails", async () => {
    await using store = await openStore({ root });
    const spec = parseSpecOrThrow("((build tools ((from b))) (from b))", { file: "t.spec" });
    let layers = 0;
    let leasedMidway = 0;
    const error = await runBuild({
      store,
      spec,
      contextDir: root,
      onEvent: (e: BuildEvent) => {
        if (e.type !== "cached" && e.type !== "saved") return;
        // The second layer event is the main stage's: the tools stage's result is leased.
        if (++layers < 2) return;
        leasedMidway = store.leases().size;
        throw new Error("listener failed on purpose");
      },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("listener failed on purpose");
    expect(leasedMidway).toBe(1);
    expect(store.leases().size).toBe(0);
  });
});

describe("runBuild --target", () => {
  it("builds the named stage alone, numbers its steps from 0, and returns its layer", async () => {
    await execa("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      join(root, "base-image", "c.qcow2"),
      "64M",
    ]);
    await using store = await openStore({ root });
    const spec = parseSpecOrThrow("((build other ((from b))) (build tools ((from c))) (from b))", {
      file: "t.spec",
    });
    const events: BuildEvent[] = [];
    const id = await runBuild({
      store,
      spec,
      contextDir: root,
      target: "tools",
      onEvent: (e) => events.push(e),
    });
    expect(events.filter((e) => e.type === "step")).toEqual([
      { type: "step", index: 0, stage: "tools", workdir: "/", op: "(from c)" },
    ]);
    expect(events.at(-1)).toEqual({ type: "done", id });
    expect(store.lookup(id)?.base).toBe("c");
    expect(store.list()).toHaveLength(1);
  });

  it("numbers every step of the whole build across its stages", async () => {
    await using store = await openStore({ root });
    const spec = parseSpecOrThrow("((build tools ((from b))) (from b))", { file: "t.spec" });
    const events: BuildEvent[] = [];
    await runBuild({ store, spec, contextDir: root, onEvent: (e) => events.push(e) });
    const steps = events.filter((e) => e.type === "step");
    expect(steps.map((e) => [e.index, e.stage])).toEqual([
      [0, "tools"],
      [1, undefined],
    ]);
  });

  it("refuses an unknown target before building anything", async () => {
    await using store = await openStore({ root });
    const spec = parseSpecOrThrow("((build tools ((from b))) (from b))", { file: "t.spec" });
    await expect(runBuild({ store, spec, contextDir: root, target: "tool" })).rejects.toThrow(
      'no stage "tool"; the spec\'s stages are: tools',
    );
    expect(store.list()).toHaveLength(0);
  });
});

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureIo } from "@strata/cli-kit";
import { openStore } from "@strata/store";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../main.js";
import { parseDate, parsePercent, parseSize, resolveStoreRoot } from "./store-options.js";

describe("store command options", () => {
  it("accepts OBuilder's --store=qemu:DIR, a plain path, and the XDG default", () => {
    expect(resolveStoreRoot("qemu:/data", "/cwd")).toBe("/data");
    expect(resolveStoreRoot("rel", "/cwd")).toBe("/cwd/rel");
    expect(resolveStoreRoot(undefined, "/cwd", { XDG_DATA_HOME: "/xdg" })).toBe("/xdg/strata");
    expect(() => resolveStoreRoot("zfs:pool", "/cwd")).toThrow(/not supported/);
  });

  it("parses sizes, percentages and dates with exact messages", () => {
    expect(parseSize("20G", "--max-size")).toBe(20 * 2 ** 30);
    expect(parseSize("1.5MiB", "--max-size")).toBe(1.5 * 2 ** 20);
    expect(() => parseSize("lots", "--max-size")).toThrow(
      'option "--max-size": "lots" is not a size',
    );
    expect(parsePercent("10%", "--keep-free")).toBe(10);
    expect(() => parsePercent("120", "--keep-free")).toThrow(/0 to 100/);
    expect(parseDate("2026-01-31", "--before").toISOString()).toBe("2026-01-31T00:00:00.000Z");
    expect(parseDate("2d", "--before", 3 * 86_400_000).getTime()).toBe(86_400_000);
    expect(() => parseDate("yesterday", "--before")).toThrow(/is not a date/);
  });
});

describe("store commands on a real store", () => {
  let root: string;
  const ids = ["a", "b"].map((label) => createHash("sha256").update(label).digest("hex"));
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "strata-cli-store-"));
    mkdirSync(join(root, "base-image"));
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      join(root, "base-image", "b.qcow2"),
      "64M",
    ]);
    await using store = await openStore({ root });
    await store.build(ids[0]!, { base: "b", description: "first" }, async () => {});
    await store.build(ids[1]!, { parent: ids[0]!, description: "second" }, async () => {});
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const run = async (...argv: string[]) => {
    const captured = captureIo(root);
    const code = await main([...argv, `--store=qemu:${root}`], captured.io);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  };

  it("lists, inspects, measures and checks", async () => {
    const ls = await run("ls");
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^ID {64}LAST USED {18}SIZE {2}CHILDREN {2}STEP\n/);
    expect(ls.stdout).toContain(`${ids[0]}  `);
    expect(ls.stdout).toMatch(/second\n$/);
    expect(await run("ls", "-q")).toMatchObject({ code: 0, stdout: `${ids[0]}\n${ids[1]}\n` });
    const json = await run("list", "--json");
    expect(
      json.stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line).id),
    ).toEqual(ids);
    expect((await run("ls", "extra")).code).toBe(2);
    const inspect = await run("inspect", ids[1]!);
    expect(JSON.parse(inspect.stdout).chain).toHaveLength(3);
    expect((await run("du")).stdout).toMatch(/^layers \(2\)/);
    expect(await run("store", "check")).toMatchObject({ code: 0, stdout: "" });
  });

  it("deletes a subtree, prunes, cleans, and maps store errors to exit codes", async () => {
    expect((await run("rm", ids[1]!)).stdout).toBe(`deleted ${ids[1]}\n`);
    expect(await run("delete", ids[1]!)).toMatchObject({
      code: 3,
      stderr: expect.stringContaining("No layer"),
    });
    expect((await run("delete", "xyz")).code).toBe(2);
    expect((await run("prune")).code).toBe(2);
    expect((await run("prune", "--before", "2000-01-01")).stdout).toBe("");
    expect((await run("clean")).stderr).toMatch(/^1 layer\(s\)/);
    expect(await run("ls")).toMatchObject({
      code: 0,
      stdout: "",
      stderr: `no layers in ${root}; "strata build" makes them\n`,
    });
  });

  it("takes unambiguous ID prefixes (4+ characters) and lists the candidates of ambiguous ones", async () => {
    const twins = [`abcd${"0".repeat(60)}`, `abcd${"1".repeat(60)}`];
    {
      await using store = await openStore({ root });
      for (const id of twins) await store.build(id, { base: "b", description: id }, async () => {});
    }
    const inspect = await run("inspect", ids[1]!.slice(0, 6));
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.stdout).info.id).toBe(ids[1]);
    expect(await run("log", "abcd")).toMatchObject({
      code: 2,
      stderr: expect.stringContaining(`matches 2 layers: ${twins[0]}, ${twins[1]}`),
    });
    expect(await run("inspect", "abc")).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("a prefix of at least 4"),
    });
    expect((await run("rm", "abcd1")).stdout).toBe(`deleted ${twins[1]}\n`);
  });

  it("prune and clean --dry-run print what they would remove and remove nothing", async () => {
    const prune = await run("prune", "--dry-run", "--max-size", "0");
    expect(prune.stdout).toBe(`would prune ${ids[1]}\nwould prune ${ids[0]}\n`);
    expect(prune.stderr).toMatch(/^2 layer\(s\), .* would be freed \(dry run\)\n$/);
    const clean = await run("clean", "--dry-run");
    expect(clean.stdout).toBe(`would remove ${ids[1]}\nwould remove ${ids[0]}\n`);
    expect((await run("ls", "-q")).stdout).toBe(`${ids[0]}\n${ids[1]}\n`);
  });

  it("takes the store from STRATA_STORE when --store is not given", async () => {
    const captured = captureIo("/", { env: { STRATA_STORE: `qemu:${root}` } });
    expect(await main(["ls", "-q"], captured.io)).toBe(0);
    expect(captured.stdout()).toBe(`${ids[0]}\n${ids[1]}\n`);
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureIo } from "@strata/cli-kit";
import { openStore } from "@strata/store";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../main.js";

describe("strata cache", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "strata-cli-cache-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const run = async (...argv: string[]) => {
    const captured = captureIo(root);
    const code = await main([...argv, `--store=qemu:${root}`], captured.io);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  };

  it("lists caches, refuses to remove one in use, removes it otherwise", async () => {
    await using store = await openStore({ root });
    const version = join(store.cacheDir("opam-archives"), "v2.tree");
    mkdirSync(version, { recursive: true });
    writeFileSync(join(version, "a.tgz"), "x");
    expect((await run("cache", "ls")).stdout).toMatch(
      /^NAME +KIND +VERSION +UPDATED +SIZE\nopam-archives {2}tree {2}v2 {7}\d{4}-\S+ \S+ +[\d.]+ \w*B\n$/,
    );
    const checkout = store.checkoutCache("opam-archives");
    const json = JSON.parse((await run("cache", "ls", "--json")).stdout);
    expect(json).toMatchObject({ name: "opam-archives", kind: "tree", generation: 2, inUse: true });
    expect(await run("cache", "rm", "opam-archives")).toMatchObject({
      code: 3,
      stderr: expect.stringContaining("in use by a running build"),
    });
    await checkout.remove();
    expect(await run("cache", "rm", "opam-archives")).toMatchObject({
      code: 0,
      stdout: "removed cache opam-archives\n",
    });
    expect(await run("cache", "list")).toMatchObject({
      code: 0,
      stdout: "",
      stderr: expect.stringMatching(/^no caches in .*; a step with \(cache \.\.\.\) makes them\n$/),
    });
    expect((await run("cache", "rm", "opam-archives")).code).toBe(2);
    expect((await run("cache", "frob")).code).toBe(2);
  });
});

import { existsSync, readdirSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreLockedError } from "./errors.js";
import { openStore, type Store } from "./store.js";
import { tempDir } from "./test-support.js";

let dir: ReturnType<typeof tempDir>;
let store: Store;
beforeEach(async () => {
  dir = tempDir();
  store = await openStore({ root: dir.path });
});
afterEach(() => {
  store.close();
  dir.remove();
});

describe("cache locks and checkouts", () => {
  it("gives a cache name to one holder at a time", async () => {
    const first = await store.lockCache("opam-archives");
    expect(first.dir).toBe(store.cacheDir("opam-archives"));
    await expect(store.lockCache("opam-archives", { timeoutMs: 100 })).rejects.toBeInstanceOf(
      StoreLockedError,
    );
    const other = await store.lockCache("other", { timeoutMs: 100 });
    other.release();
    const waiting = store.lockCache("opam-archives", { timeoutMs: 5000 });
    first.release();
    await (await waiting)[Symbol.asyncDispose]();
  });

  it("keeps a live checkout through another opening's start-up wipe, removes it after", async () => {
    const checkout = store.checkoutCache("opam-archives");
    expect(checkout.dir.startsWith(store.cacheTmpDir())).toBe(true);
    const again = await openStore({ root: dir.path });
    again.close();
    expect(existsSync(checkout.dir)).toBe(true);
    await checkout.remove();
    expect(readdirSync(store.cacheTmpDir())).toEqual([]);
  });
});

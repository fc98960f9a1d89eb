import { writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "./store.js";
import { tempDir } from "./test-support.js";

describe("cacheInUse", () => {
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

  it("is true exactly while a checkout of that cache is held by a live process", async () => {
    expect(store.cacheInUse("a")).toBe(false);
    const checkout = store.checkoutCache("a");
    expect(store.cacheInUse("a")).toBe(true);
    // Another cache whose escaped name starts with "a-" is not mistaken for "a".
    expect(store.cacheInUse("a-b")).toBe(false);
    const other = store.checkoutCache("a-b");
    await checkout.remove();
    expect(store.cacheInUse("a")).toBe(false);
    expect(store.cacheInUse("a-b")).toBe(true);
    await other.remove();
  });

  it("ignores checkouts left by a dead process", () => {
    const lock = join(store.cacheTmpDir(), "a-00000000-0000-4000-8000-000000000000.lock");
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 17, host: "x", token: "t" }));
    // Another host's process cannot be checked: it counts as alive.
    expect(store.cacheInUse("a")).toBe(true);
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 17, host: hostname(), token: "t" }));
    expect(store.cacheInUse("a")).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { checkStoreOwner, StoreNotOwnedError } from "./store-owner.js";

describe("checkStoreOwner", () => {
  it("lets the owner, and root, use a store; and anyone create a new one", () => {
    expect(() => checkStoreOwner("/s", { uid: 1000, ownerUid: 1000 })).not.toThrow();
    expect(() => checkStoreOwner("/s", { uid: 0, ownerUid: 1000 })).not.toThrow();
    expect(() => checkStoreOwner("/s", { uid: 1000, ownerUid: undefined })).not.toThrow();
    expect(() => checkStoreOwner("/s", { uid: undefined, ownerUid: 0 })).not.toThrow();
  });

  it("refuses a store made by root to an ordinary user, and says so and what to do", () => {
    let error: unknown;
    try {
      checkStoreOwner("/data/store", { uid: 1000, ownerUid: 0 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreNotOwnedError);
    expect(error).toMatchObject({ code: "STORE_NOT_OWNED", ownerUid: 0, uid: 1000 });
    const message = (error as Error).message;
    expect(message).toContain("made by root");
    expect(message).toContain("usable by its owner only");
    expect(message).toContain("--store=qemu:DIR");
    expect(message).toContain("sudo chown -R 1000 /data/store");
  });

  it("names another user's uid", () => {
    expect(() => checkStoreOwner("/s", { uid: 1000, ownerUid: 1001 })).toThrow(
      /belongs to uid 1001/,
    );
  });
});

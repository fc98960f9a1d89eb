import { statSync } from "node:fs";
import { StoreError } from "./errors.js";

/** A store belongs to another user: its keys, locks and layers are private to its owner. */
export class StoreNotOwnedError extends StoreError {
  constructor(
    readonly root: string,
    readonly ownerUid: number,
    readonly uid: number,
  ) {
    const byRoot = ownerUid === 0;
    super(
      "STORE_NOT_OWNED",
      `the store ${root} belongs to ${byRoot ? "root (it was made by root, e.g. with sudo)" : `uid ${ownerUid}`}, and a store is usable by its owner only (its SSH key and locks are private). Use a store of your own (--store=qemu:DIR or STRATA_STORE=DIR), run as ${byRoot ? "root" : `uid ${ownerUid}`}, or give the store to yourself: sudo chown -R ${uid} ${root}`,
    );
  }
}

/** Who runs us, and who owns a path: the facts {@link checkStoreOwner} decides on. */
export interface OwnerFacts {
  /** Our uid; undefined where there are no uids (Windows hosts). */
  readonly uid: number | undefined;
  /** The store directory's owner; undefined when it does not exist yet. */
  readonly ownerUid: number | undefined;
}

/**
 * Refuses a store another user owns (pure): root may use any store, everybody else only their
 * own. A store root does not check a store it is about to create.
 */
export function checkStoreOwner(root: string, facts: OwnerFacts): void {
  const { uid, ownerUid } = facts;
  if (uid === undefined || ownerUid === undefined || uid === 0 || uid === ownerUid) return;
  throw new StoreNotOwnedError(root, ownerUid, uid);
}

/** {@link checkStoreOwner} for the running process and the store directory `root`. */
export function assertStoreOwner(root: string): void {
  let ownerUid: number | undefined;
  try {
    ownerUid = statSync(root).uid;
  } catch {
    ownerUid = undefined;
  }
  // process.getuid is absent where there are no uids (Windows): nothing to check there.
  checkStoreOwner(root, { uid: process.getuid?.(), ownerUid });
}

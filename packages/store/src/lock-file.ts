import { randomUUID } from "node:crypto";
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { currentProcess, isProcessAlive, type ProcessIdentity } from "./process-identity.js";

/** Contents of a lock file: the owning process and a token unique to this acquisition. */
export interface LockOwner extends ProcessIdentity {
  token: string;
}

/** Reads a lock file; undefined when it does not exist or is not a complete lock record. */
export function readLockOwner(path: string): LockOwner | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    return typeof owner.pid === "number" && typeof owner.token === "string" ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** True when the lock at `path` is held by a live process. */
export function isLockHeld(path: string): boolean {
  const owner = readLockOwner(path);
  return owner !== undefined && isProcessAlive(owner);
}

/**
 * Tries once to take the lock at `path` (an O_EXCL file). A lock whose owner is dead, or whose
 * file was left empty by a crash between create and write, is broken and retaken.
 *
 * Callers must run this inside the store mutex (a SQLite write transaction): that is what makes
 * "read the owner, find it dead, unlink, recreate" atomic across processes, where two breakers
 * could otherwise each delete the lock the other one just took.
 */
export function tryAcquireLockFile(path: string): { acquired: LockOwner } | { heldBy: LockOwner } {
  const owner: LockOwner = { ...currentProcess(), token: randomUUID() };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const current = readLockOwner(path);
      if (current && isProcessAlive(current)) return { heldBy: current };
      unlinkSync(path);
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(owner));
    } catch (error) {
      closeSync(fd);
      unlinkSync(path);
      throw error;
    }
    closeSync(fd);
    return { acquired: owner };
  }
  throw new Error(`could not take the lock ${path}`);
}

/** Removes the lock file if (and only if) it still holds `owner`'s token. */
export function releaseLockFile(path: string, owner: LockOwner): void {
  if (readLockOwner(path)?.token !== owner.token) return;
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

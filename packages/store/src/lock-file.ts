import { randomUUID } from "node:crypto";
import {
  closeSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { StoreLockedError } from "./errors.js";
import { currentProcess, isProcessAlive, type ProcessIdentity } from "./process-identity.js";

/** Contents of a lock file: the owning process and a token unique to this acquisition. */
export interface LockOwner extends ProcessIdentity {
  token: string;
}

/** How the liveness of a lock's owner is judged; see {@link isLockOwnerAlive}. */
export interface LockRules {
  /**
   * A lock written under another hostname whose file was not touched for this long is stale.
   * @default DEFAULT_LOCK_STALE_MS
   */
  staleMs: number;
  /** How often a holder touches its lock files. @default DEFAULT_LOCK_HEARTBEAT_MS */
  heartbeatMs: number;
}

/** Holders touch their locks this often. @default 10_000 */
export const DEFAULT_LOCK_HEARTBEAT_MS = 10_000;
/**
 * Twelve missed heartbeats: generous for a loaded machine or a slow shared filesystem, and for
 * clocks of two hosts that differ by a minute. @default 120_000
 */
export const DEFAULT_LOCK_STALE_MS = 120_000;

export const DEFAULT_LOCK_RULES: LockRules = {
  staleMs: DEFAULT_LOCK_STALE_MS,
  heartbeatMs: DEFAULT_LOCK_HEARTBEAT_MS,
};

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

/** Milliseconds since the lock at `path` was last written or touched; Infinity if it is gone. */
export function lockAgeMs(path: string, now = Date.now()): number {
  try {
    return Math.max(0, now - statSync(path).mtimeMs);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * The liveness rule. On this host the owner's pid and start time decide. Under another hostname
 * (a shared store, or this container restarted with a new name) we cannot look at the process, so
 * the lock's heartbeat decides: its holder touches it every `heartbeatMs`, and one not touched for
 * `staleMs` belongs to a process that is gone.
 */
export function isLockOwnerAlive(path: string, owner: LockOwner, rules: LockRules): boolean {
  if (owner.host === currentProcess().host) return isProcessAlive(owner);
  return lockAgeMs(path) < rules.staleMs;
}

/** True when the lock at `path` is held by a live process. */
export function isLockHeld(path: string, rules: LockRules = DEFAULT_LOCK_RULES): boolean {
  const owner = readLockOwner(path);
  return owner !== undefined && isLockOwnerAlive(path, owner, rules);
}

/** Heartbeat timers of the locks this process holds, by token. */
const heartbeats = new Map<string, NodeJS.Timeout>();

/** Touches the lock every `heartbeatMs` while it still holds `owner`'s token. */
function startHeartbeat(path: string, owner: LockOwner, rules: LockRules): void {
  const timer = setInterval(() => {
    if (readLockOwner(path)?.token !== owner.token) return stopHeartbeat(owner);
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      stopHeartbeat(owner);
    }
  }, rules.heartbeatMs);
  // A heartbeat alone must not keep a finished process running.
  timer.unref();
  heartbeats.set(owner.token, timer);
}

function stopHeartbeat(owner: LockOwner): void {
  clearInterval(heartbeats.get(owner.token));
  heartbeats.delete(owner.token);
}

/**
 * Tries once to take the lock at `path` (an O_EXCL file). A lock whose owner is dead by
 * {@link isLockOwnerAlive}, or whose file was left empty by a crash between create and write, is
 * broken and retaken. The holder's heartbeat runs until {@link releaseLockFile}.
 *
 * Callers must run this inside the store mutex (a SQLite write transaction): that is what makes
 * "read the owner, find it dead, unlink, recreate" atomic across processes, where two breakers
 * could otherwise each delete the lock the other one just took.
 */
export function tryAcquireLockFile(
  path: string,
  rules: LockRules = DEFAULT_LOCK_RULES,
): { acquired: LockOwner } | { heldBy: LockOwner } {
  const owner: LockOwner = { ...currentProcess(), token: randomUUID() };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const current = readLockOwner(path);
      if (current && isLockOwnerAlive(path, current, rules)) return { heldBy: current };
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
    startHeartbeat(path, owner, rules);
    return { acquired: owner };
  }
  // Only a racing process that ignores the store mutex gets here.
  throw new StoreLockedError(`The lock file ${path}`);
}

/** Removes the lock file if (and only if) it still holds `owner`'s token; stops its heartbeat. */
export function releaseLockFile(path: string, owner: LockOwner): void {
  stopHeartbeat(owner);
  if (readLockOwner(path)?.token !== owner.token) return;
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

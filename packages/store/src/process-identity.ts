import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/** Who holds a lock or lease: enough to tell later whether that process is still alive. */
export interface ProcessIdentity {
  pid: number;
  host: string;
  /** Start time from /proc (clock ticks since boot), so a recycled PID is not taken for the owner. */
  start?: string;
}

function readStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19]; // field 22 overall: starttime
  } catch {
    return undefined;
  }
}

let self: ProcessIdentity | undefined;

export function currentProcess(): ProcessIdentity {
  if (!self) {
    const start = readStartTime(process.pid);
    self = { pid: process.pid, host: hostname(), ...(start ? { start } : {}) };
  }
  return self;
}

/**
 * False only when we can prove the process is gone. A process on another host (a store on a
 * shared filesystem) is assumed alive, since we cannot look.
 */
export function isProcessAlive(owner: ProcessIdentity): boolean {
  if (owner.host !== currentProcess().host) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (owner.start === undefined) return true;
  const start = readStartTime(owner.pid);
  return start === undefined || start === owner.start;
}

export function describeProcess(owner: ProcessIdentity): string {
  return `pid ${owner.pid} on ${owner.host}`;
}

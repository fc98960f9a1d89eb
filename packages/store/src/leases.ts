import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import {
  currentProcess,
  describeProcess,
  isProcessAlive,
  type ProcessIdentity,
} from "./process-identity.js";

/**
 * The lease a registry pull holds on the store's `download/` blobs (no layer has this ID: layer
 * IDs are hex), so that `clean` leaves them to it.
 */
export const DOWNLOADS_LEASE = "downloads";

/** Keeps a layer (and so its ancestors) from being deleted or pruned while it is held. */
export interface Lease extends AsyncDisposable, Disposable {
  readonly id: string;
  release(): void;
}

interface LeaseRow {
  token: string;
  id: string;
  pid: number;
  host: string;
  start: string | null;
}

/** Records a lease in the database, so that other processes' prune and delete see it too. */
export function takeLease(db: Database.Database, id: string): Lease {
  const me = currentProcess();
  const token = randomUUID();
  db.prepare("INSERT INTO leases (token, id, pid, host, start) VALUES (?, ?, ?, ?, ?)").run(
    token,
    id,
    me.pid,
    me.host,
    me.start ?? null,
  );
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    if (db.open) db.prepare("DELETE FROM leases WHERE token = ?").run(token);
  };
  return {
    id,
    release,
    [Symbol.dispose]: release,
    [Symbol.asyncDispose]: async () => release(),
  };
}

/**
 * Layer IDs (and {@link DOWNLOADS_LEASE}) held by live processes, each with who holds it. Leases of dead processes (killed
 * before they could release) are removed on the way. Run inside the store mutex.
 */
export function liveLeases(db: Database.Database): Map<string, string> {
  const rows = db.prepare("SELECT * FROM leases").all() as LeaseRow[];
  const live = new Map<string, string>();
  for (const row of rows) {
    const owner: ProcessIdentity = {
      pid: row.pid,
      host: row.host,
      ...(row.start === null ? {} : { start: row.start }),
    };
    if (isProcessAlive(owner)) live.set(row.id, describeProcess(owner));
    else db.prepare("DELETE FROM leases WHERE token = ?").run(row.token);
  }
  return live;
}

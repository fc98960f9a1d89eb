import Database from "better-sqlite3";
import { DiskFullError, StoreLockedError } from "./errors.js";

/** One finished layer, as the store's database records it. */
export interface LayerInfo {
  id: string;
  /** The layer this one was built on; absent for a first layer (built on a base image). */
  parent?: string;
  /** The base image name at the bottom of the chain. */
  base: string;
  description: string;
  created: Date;
  lastUsed: Date;
  children: number;
  /** Bytes allocated on disk by this layer's own files (not its parents'). */
  bytes: number;
  /** Backing files below this layer's image (0 when it was written flattened). */
  depth: number;
}

export interface LayerRow {
  id: string;
  parent: string | null;
  base: string;
  description: string;
  created: number;
  last_used: number;
  children: number;
  bytes: number;
  depth: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS layers (
  id TEXT PRIMARY KEY,
  parent TEXT,
  base TEXT NOT NULL,
  description TEXT NOT NULL,
  created INTEGER NOT NULL,
  last_used INTEGER NOT NULL,
  children INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL,
  depth INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS layers_parent ON layers(parent);
CREATE TABLE IF NOT EXISTS leases (
  token TEXT PRIMARY KEY,
  id TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  start TEXT
);
CREATE INDEX IF NOT EXISTS leases_id ON leases(id);
CREATE TABLE IF NOT EXISTS failures (
  token TEXT PRIMARY KEY,
  id TEXT NOT NULL,
  cancelled INTEGER NOT NULL,
  message TEXT NOT NULL,
  at INTEGER NOT NULL
);
`;

/** How long a process waits for another one's short write transaction before giving up. */
const DEFAULT_BUSY_TIMEOUT_MS = 15_000;

export function openDatabase(path: string): Database.Database {
  try {
    const db = new Database(path, { timeout: DEFAULT_BUSY_TIMEOUT_MS });
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec(SCHEMA);
    return db;
  } catch (error) {
    throw translateSqliteError(error, `opening ${path}`);
  }
}

/** Maps SQLite's busy and full errors to the store's typed errors. */
function translateSqliteError(error: unknown, doing: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new StoreLockedError(`The store database (${doing})`, { cause: error });
  }
  if (code === "SQLITE_FULL") return new DiskFullError(doing, { cause: error });
  return error;
}

/**
 * Runs `fn` inside `BEGIN IMMEDIATE`: the cross-process mutex of the store. SQLite takes the
 * write lock with fcntl, which the kernel drops when a process dies, so it never goes stale.
 * `fn` must be synchronous and short.
 */
export function withStoreMutex<T>(db: Database.Database, doing: string, fn: () => T): T {
  try {
    return db.transaction(fn).immediate();
  } catch (error) {
    throw translateSqliteError(error, doing);
  }
}

export function toLayerInfo(row: LayerRow): LayerInfo {
  return {
    id: row.id,
    ...(row.parent === null ? {} : { parent: row.parent }),
    base: row.base,
    description: row.description,
    created: new Date(row.created),
    lastUsed: new Date(row.last_used),
    children: row.children,
    bytes: row.bytes,
    depth: row.depth,
  };
}

export function selectLayer(db: Database.Database, id: string): LayerRow | undefined {
  return db.prepare("SELECT * FROM layers WHERE id = ?").get(id) as LayerRow | undefined;
}

export function selectAllLayers(db: Database.Database): LayerRow[] {
  return db.prepare("SELECT * FROM layers ORDER BY created, id").all() as LayerRow[];
}

/** Inserts (or refreshes) a layer row and recounts its parent's children. */
export function upsertLayer(db: Database.Database, row: LayerRow): void {
  db.prepare(
    `INSERT INTO layers (id, parent, base, description, created, last_used, children, bytes, depth)
     VALUES (@id, @parent, @base, @description, @created, @last_used, @children, @bytes, @depth)
     ON CONFLICT(id) DO NOTHING`,
  ).run(row);
  recountChildren(db, row.id);
  if (row.parent !== null) recountChildren(db, row.parent);
}

export function deleteLayerRow(db: Database.Database, id: string): void {
  const row = selectLayer(db, id);
  db.prepare("DELETE FROM layers WHERE id = ?").run(id);
  if (row?.parent) recountChildren(db, row.parent);
}

// Children are recounted instead of incremented so that a commit and a concurrent reconcile
// that both record the same layer cannot count it twice.
function recountChildren(db: Database.Database, id: string): void {
  db.prepare(
    "UPDATE layers SET children = (SELECT count(*) FROM layers c WHERE c.parent = ?) WHERE id = ?",
  ).run(id, id);
}

export function recountAllChildren(db: Database.Database): void {
  db.exec(
    "UPDATE layers SET children = (SELECT count(*) FROM layers c WHERE c.parent = layers.id)",
  );
}

export function touchLayer(db: Database.Database, id: string, now: number): void {
  db.prepare("UPDATE layers SET last_used = ? WHERE id = ? AND last_used < ?").run(now, id, now);
}

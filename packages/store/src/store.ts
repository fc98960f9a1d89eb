import { chmodSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type BaseImage, findBaseImage, validateBaseImageName } from "./base-image.js";
import { type BuildStepFn, replayLog, runOwnedStep } from "./build-step.js";
import {
  type CacheCheckout,
  type CacheLock,
  createCacheCheckout,
  isCacheCheckedOut,
  type LockCacheOptions,
  lockCache,
} from "./cache-lock.js";
import { escapeCacheName } from "./cache-name.js";
import { type CheckOptions, type CheckReport, checkStore } from "./check.js";
import { claimBuild } from "./claim.js";
import { createContext, type StoreContext } from "./context.js";
import {
  type LayerInfo,
  openDatabase,
  selectAllLayers,
  selectLayer,
  toLayerInfo,
  touchLayer,
} from "./database.js";
import { allocatedBytes } from "./disk-usage.js";
import {
  InvalidLayerIdError,
  LayerNotFoundError,
  StepCancelledError,
  StoreOptionsError,
} from "./errors.js";
import { type DiskUsage, inspectLayer, type LayerInspection, measureStore } from "./inspect.js";
import { isLayerId, isLayerIdPrefix, matchLayerId, validateLayerId } from "./layer-id.js";
import { LAYER_IMAGE, LAYER_LOG, storeLayout } from "./layout.js";
import { DOWNLOADS_LEASE, type Lease, liveLeases, takeLease } from "./leases.js";
import type { LockRules } from "./lock-file.js";
import {
  type CleanOptions,
  type CleanReport,
  cleanStore,
  deleteLayer,
  type PruneOptions,
  pruneLayers,
  type RemovalReport,
} from "./maintenance.js";
import { type RecoveryReport, recoverStore } from "./reconcile.js";
import { type BuildResult, SharedRun } from "./shared-run.js";
import { assertStoreOwner } from "./store-owner.js";
import { waitForOtherProcess } from "./wait-for-step.js";

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** The store directory (`--store=qemu:DIR`); created if missing. */
  root: string;
  /**
   * Longest backing chain a layer may have; a layer that would be deeper is written flattened.
   * @default DEFAULT_MAX_CHAIN_DEPTH
   */
  maxChainDepth?: number;
  /** When a lock's owner counts as gone. @default DEFAULT_LOCK_RULES */
  lockRules?: LockRules;
  /**
   * Longest wait for a step that another live process builds.
   * @default DEFAULT_STEP_WAIT_TIMEOUT_MS
   */
  stepWaitTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Reads through 30 qcow2 images stay fast; the benchmark (bench/store-chain.mjs) shows why. */
export const DEFAULT_MAX_CHAIN_DEPTH = 30;

/** Options of {@link Store.build}: exactly one of `base` and `parent`. */
export interface BuildOptions {
  /** Base image name: this is the first layer of a build. */
  base?: string;
  /** Layer ID this step is built on. */
  parent?: string;
  /** The step, as shown by `strata ls`. */
  description: string;
  signal?: AbortSignal;
  /** Receives the step's output: replayed on a cache hit, live otherwise. */
  onLog?: (chunk: Buffer) => void;
  /**
   * The step writes the layer's image itself at `layer.image` (a layer pulled from a
   * registry): the store creates no overlay, and the step checks that the image carries
   * `layer.backing`. @default false
   */
  provideImage?: boolean;
  /**
   * Run the step even when the layer exists (`--no-cache`). The new layer keeps the ID and
   * replaces the old one only once complete; the old one and every layer built on it are then
   * removed in the same critical section (see `runOwnedStep`). Refused with `LAYER_IN_USE` while
   * a live process holds any of them. A step already running here or elsewhere is joined.
   * @default false
   */
  rebuild?: boolean;
}

/** The content-addressed layer store of DESIGN.md. Open it with {@link openStore}. */
export class Store implements AsyncDisposable {
  readonly #ctx: StoreContext;
  readonly #runs = new Map<string, SharedRun>();
  #closing = false;
  readonly #idle: (() => void)[] = [];
  /** What start-up recovery found. */
  readonly recovery: RecoveryReport;

  constructor(ctx: StoreContext, recovery: RecoveryReport) {
    this.#ctx = ctx;
    this.recovery = recovery;
  }

  get root(): string {
    return this.#ctx.layout.root;
  }
  get keysDir(): string {
    return this.#ctx.layout.keysDir;
  }
  /** `download/`: blobs being pulled from a registry (content-addressed, resumable). */
  get downloadDir(): string {
    return this.#ctx.layout.downloadDir;
  }
  get maxChainDepth(): number {
    return this.#ctx.maxChainDepth;
  }

  findBaseImage(name: string): BaseImage {
    return findBaseImage(this.#ctx.layout, name);
  }

  /** A finished layer's record, marking it as just used (for LRU pruning). */
  lookup(id: string): LayerInfo | undefined {
    validateLayerId(id);
    const row = selectLayer(this.#ctx.db, id);
    if (!row) return undefined;
    const now = Date.now();
    touchLayer(this.#ctx.db, id, now);
    return toLayerInfo({ ...row, last_used: Math.max(row.last_used, now) });
  }

  layerDir(id: string): string {
    return join(this.#ctx.layout.resultDir, validateLayerId(id));
  }
  layerImage(id: string): string {
    return join(this.layerDir(id), LAYER_IMAGE);
  }
  layerLog(id: string): string {
    return join(this.layerDir(id), LAYER_LOG);
  }

  /**
   * Returns layer `id`, building it with `fn` if needed (OBuilder's Store.build). A finished
   * layer's log is replayed; a step already running here or in another process is joined and
   * its output streamed from the first byte; otherwise `fn` runs on a fresh overlay in
   * `result-tmp/<id>` that is renamed into `result/<id>` only if `fn` resolves.
   */
  async build(id: string, options: BuildOptions, fn: BuildStepFn): Promise<BuildResult> {
    validateLayerId(id);
    const { base, parent, description, signal, onLog, provideImage, rebuild = false } = options;
    if ((base === undefined) === (parent === undefined)) {
      throw new StoreOptionsError("build: give exactly one of `base` and `parent`.");
    }
    if (typeof description !== "string") {
      throw new StoreOptionsError("build: `description` must be a string.");
    }
    if (base !== undefined) this.findBaseImage(validateBaseImageName(base));
    if (parent !== undefined && !selectLayer(this.#ctx.db, validateLayerId(parent))) {
      throw new LayerNotFoundError(parent);
    }
    for (;;) {
      if (signal?.aborted) throw new StepCancelledError(id, { cause: signal.reason });
      const running = this.#runs.get(id);
      if (running) return running.join(onLog, signal);
      const claim = claimBuild(this.#ctx, id, rebuild);
      if (claim.kind === "done") {
        touchLayer(this.#ctx.db, id, Date.now());
        await replayLog(this.#ctx, id, onLog);
        return { id, cached: true, shared: false };
      }
      if (claim.kind === "owner") {
        const run = new SharedRun(id);
        this.#runs.set(id, run);
        const result = run.join(onLog, signal, false);
        const spec = {
          id,
          description,
          ...(base ? { base } : {}),
          ...(parent ? { parent } : {}),
          ...(provideImage ? { provideImage } : {}),
        };
        void runOwnedStep(this.#ctx, run, claim, spec, fn, () => {
          this.#runs.delete(id);
          if (this.#runs.size === 0) for (const wake of this.#idle.splice(0)) wake();
          if (this.#closing) queueMicrotask(() => this.close());
        });
        return result;
      }
      const outcome = await waitForOtherProcess(this.#ctx, id, claim, onLog, signal);
      if (outcome) return outcome;
    }
  }

  /** Keeps `id` (and its ancestors) from being deleted or pruned until the lease is released. */
  pin(id: string): Lease {
    validateLayerId(id);
    return this.#ctx.mutex(`pinning ${id}`, () => {
      if (!selectLayer(this.#ctx.db, id)) throw new LayerNotFoundError(id);
      return takeLease(this.#ctx.db, id);
    });
  }

  /**
   * Keeps `strata clean` from removing the blobs in `download/` (see {@link StoreLayout}) while
   * a pull is under way; release it when the pull ends, whole or not.
   */
  holdDownloads(): Lease {
    return this.#ctx.mutex("holding downloads", () => takeLease(this.#ctx.db, DOWNLOADS_LEASE));
  }

  /** Layers held by live processes' leases (running builds, shells), each with its holder. */
  leases(): Map<string, string> {
    return this.#ctx.mutex("listing leases", () => liveLeases(this.#ctx.db));
  }

  /**
   * The full ID of the layer `text` names: a full layer ID or an unambiguous prefix of at least
   * 4 characters (see {@link matchLayerId}). Use it wherever a user gives a layer ID.
   */
  resolveLayerId(text: string): string {
    if (!isLayerIdPrefix(text)) throw new InvalidLayerIdError(text);
    if (isLayerId(text) && selectLayer(this.#ctx.db, text)) return text;
    // Hex has no LIKE wildcards; a prefix range keeps it an index lookup.
    const rows = this.#ctx.db
      .prepare("SELECT id FROM layers WHERE id >= ? AND id < ? ORDER BY id")
      .all(text, `${text}g`) as { id: string }[];
    return matchLayerId(
      text,
      rows.map((row) => row.id),
    );
  }

  delete(id: string): Promise<RemovalReport> {
    return deleteLayer(this.#ctx, validateLayerId(id));
  }
  prune(options: PruneOptions): Promise<RemovalReport> {
    return pruneLayers(this.#ctx, options);
  }
  clean(options: CleanOptions = {}): Promise<CleanReport> {
    return cleanStore(this.#ctx, options);
  }
  list(): LayerInfo[] {
    return selectAllLayers(this.#ctx.db).map(toLayerInfo);
  }
  inspect(id: string): Promise<LayerInspection> {
    return inspectLayer(this.#ctx, validateLayerId(id));
  }
  /**
   * Measures a finished layer's directory again and records its size: for optional files
   * beside the image (a saved VM state) added or removed after the layer was built.
   */
  async remeasure(id: string): Promise<number> {
    validateLayerId(id);
    if (!selectLayer(this.#ctx.db, id)) throw new LayerNotFoundError(id);
    const bytes = await allocatedBytes(this.layerDir(id));
    this.#ctx.db.prepare("UPDATE layers SET bytes = ? WHERE id = ?").run(bytes, id);
    return bytes;
  }

  du(): Promise<DiskUsage> {
    return measureStore(this.#ctx);
  }
  check(options: CheckOptions = {}): Promise<CheckReport> {
    return checkStore(this.#ctx, options);
  }

  /** `cache/<escaped>/`: where the latest version of cache `name` lives. */
  cacheDir(name: string): string {
    return join(this.#ctx.layout.cacheDir, escapeCacheName(name));
  }
  /** `cache-tmp/`: caches checked out by running steps; see {@link Store.checkoutCache}. */
  cacheTmpDir(): string {
    return this.#ctx.layout.cacheTmpDir;
  }
  lockCache(name: string, options?: LockCacheOptions): Promise<CacheLock> {
    return lockCache(this.#ctx, name, options);
  }
  /** A private directory in `cache-tmp/` that start-up wiping leaves alone while we live. */
  checkoutCache(name: string): CacheCheckout {
    return createCacheCheckout(this.#ctx, name);
  }
  /** True while a live process (this one included) holds a checkout of cache `name`. */
  cacheInUse(name: string): boolean {
    return isCacheCheckedOut(this.#ctx, name);
  }

  /** Closes the database, at once or, if steps are still running here, once they finish. */
  close(): void {
    this.#closing = true;
    if (this.#runs.size === 0 && this.#ctx.db.open) this.#ctx.db.close();
  }
  /**
   * Closes the store once the steps this process runs have finished, cancelled ones included:
   * after Ctrl-C, awaiting this is what leaves no `result-tmp` behind before the process exits.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    while (this.#runs.size > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }
}

/** Opens (creating if needed) the store at `root` and runs start-up recovery. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const { root, maxChainDepth = DEFAULT_MAX_CHAIN_DEPTH, signal, lockRules } = options;
  const { stepWaitTimeoutMs } = options;
  if (typeof root !== "string" || root.length === 0) {
    throw new StoreOptionsError("openStore: `root` must be a non-empty path.");
  }
  if (!Number.isInteger(maxChainDepth) || maxChainDepth < 1) {
    throw new StoreOptionsError(
      `openStore: \`maxChainDepth\` must be a whole number >= 1, got ${maxChainDepth}.`,
    );
  }
  for (const [name, value] of [
    ["lockRules.staleMs", lockRules?.staleMs],
    ["lockRules.heartbeatMs", lockRules?.heartbeatMs],
    ["stepWaitTimeoutMs", stepWaitTimeoutMs],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new StoreOptionsError(
        `openStore: \`${name}\` must be a positive number, got ${value}.`,
      );
    }
  }
  if (lockRules && lockRules.heartbeatMs >= lockRules.staleMs) {
    throw new StoreOptionsError(
      "openStore: `lockRules.heartbeatMs` must be shorter than `lockRules.staleMs`, or live locks look stale.",
    );
  }
  signal?.throwIfAborted();
  const layout = storeLayout(resolve(root));
  // Before anything is created in it: another user's store is refused whole.
  assertStoreOwner(layout.root);
  for (const dir of [
    layout.baseImageDir,
    layout.resultDir,
    layout.resultTmpDir,
    layout.cacheDir,
    layout.cacheTmpDir,
    layout.locksDir,
    layout.downloadDir,
  ]) {
    mkdirSync(dir, { recursive: true });
  }
  // The store's SSH key pair lives here: only the owner may read it.
  mkdirSync(layout.keysDir, { recursive: true, mode: 0o700 });
  chmodSync(layout.keysDir, 0o700);
  const db = openDatabase(layout.databasePath);
  const ctx = createContext(layout, db, maxChainDepth, {
    ...(lockRules ? { lockRules } : {}),
    ...(stepWaitTimeoutMs ? { stepWaitTimeoutMs } : {}),
  });
  try {
    return new Store(ctx, await recoverStore(ctx));
  } catch (error) {
    db.close();
    throw error;
  }
}

import { closeSync, createReadStream, existsSync, renameSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { findBaseImage } from "./base-image.js";
import { buildLockPath } from "./claim.js";
import { removeTree, type StoreContext, trashPath } from "./context.js";
import { selectLayer, upsertLayer } from "./database.js";
import { allocatedBytes } from "./disk-usage.js";
import {
  DiskFullError,
  isDiskFull,
  LayerCorruptError,
  LayerNotFoundError,
  StepCancelledError,
  StoreOptionsError,
} from "./errors.js";
import { metaToRow, writeLayerMeta } from "./layer-meta.js";
import {
  baseBackingPath,
  LAYER_IMAGE,
  LAYER_LOG,
  LAYER_META,
  LAYER_ROOTFS,
  parentBackingPath,
} from "./layout.js";
import { type Lease, takeLease } from "./leases.js";
import { type LockOwner, releaseLockFile } from "./lock-file.js";
import { detachLayers, unusedSubtree } from "./maintenance.js";
import { createOverlay, flattenImage, readImageInfo } from "./qemu-img.js";
import type { SharedRun } from "./shared-run.js";

/** The layer being built, as the step function sees it. */
export interface LayerBuild {
  readonly id: string;
  /** `result-tmp/<id>/` */
  readonly dir: string;
  /**
   * The layer's qcow2 image: already created (an overlay of the parent, or flattened), or,
   * when the build was asked with `provideImage`, the path where the step must put it.
   */
  readonly image: string;
  /**
   * The backing reference the store writes for this layer (relative to the image, and its
   * format), which a provided image must carry; undefined when the store makes the layer a
   * standalone image because the chain is too deep (see `maxChainDepth`).
   */
  readonly backing: ImageBacking | undefined;
  readonly parent?: string;
  readonly base: string;
  /** Aborted when every client of this step has cancelled. */
  readonly signal: AbortSignal;
  /** Appends to the step's log, which every waiting client sees live. */
  log(chunk: Buffer | string): void;
}

export type BuildStepFn = (layer: LayerBuild) => Promise<void>;

/** A qcow2 backing reference: the file name as stored in the overlay, and its format. */
export interface ImageBacking {
  readonly file: string;
  readonly format: string;
}

interface StepSpec {
  id: string;
  description: string;
  base?: string;
  parent?: string;
  /** The step writes the image itself (a pulled layer): no overlay is created for it. */
  provideImage?: boolean;
}

/** fsyncs a file or directory, in the thread pool: the event loop (downloads, logs) runs on. */
async function fsyncPath(path: string): Promise<void> {
  const file = await open(path, "r");
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

async function createImage(
  ctx: StoreContext,
  spec: StepSpec,
  image: string,
  signal: AbortSignal,
): Promise<{ base: string; depth: number; backing?: ImageBacking; lease?: Lease }> {
  if (spec.parent === undefined) {
    const base = findBaseImage(ctx.layout, spec.base!);
    const { format } = await readImageInfo(base.image, { signal });
    const backing = { file: baseBackingPath(base.name), format };
    if (!spec.provideImage) await createOverlay(image, backing.file, backing.format, { signal });
    return { base: base.name, depth: 1, backing };
  }
  const parentId = spec.parent;
  // The lease keeps the parent (and so its chain) from being pruned while we build on it.
  const { parent, lease } = ctx.mutex(`pinning ${parentId}`, () => {
    const parent = selectLayer(ctx.db, parentId);
    if (!parent) throw new LayerNotFoundError(parentId);
    return { parent, lease: takeLease(ctx.db, parentId) };
  });
  try {
    const parentImage = join(ctx.layout.resultDir, parentId, LAYER_IMAGE);
    if (parent.depth + 1 > ctx.maxChainDepth) {
      // Long chains make every read walk many images: write this layer standalone instead.
      if (!spec.provideImage) await flattenImage(parentImage, image, { signal });
      return { base: parent.base, depth: 0, lease };
    }
    const backing = { file: parentBackingPath(parentId), format: "qcow2" };
    if (!spec.provideImage) await createOverlay(image, backing.file, backing.format, { signal });
    return { base: parent.base, depth: parent.depth + 1, backing, lease };
  } catch (error) {
    lease.release();
    throw error;
  }
}

/**
 * Runs a step as the owner of its build lock: creates the image in `result-tmp/<id>`, runs `fn`,
 * and on success fsyncs and renames the directory into `result/<id>` with its row, in one
 * critical section. On failure nothing is kept, and a failure record tells other processes'
 * waiters what happened.
 *
 * When the claim `replaces` a finished layer (a rebuild), the same critical section first
 * removes the old layer and every layer built on it: a child is an overlay over its parent's
 * exact bytes, so it cannot outlive them. A live lease on any of them fails the step instead,
 * and the old layers stay as they were. The removals go children first, then the new directory
 * is renamed in: a crash at any point leaves each layer whole or absent, never a child over
 * replaced bytes (start-up recovery drops rows whose directory went).
 */
export async function runOwnedStep(
  ctx: StoreContext,
  run: SharedRun,
  claim: { owner: LockOwner; logFd: number; trash: string[]; replaces: boolean },
  spec: StepSpec,
  fn: BuildStepFn,
  onSettled: () => void,
): Promise<void> {
  const { id } = spec;
  const tmp = join(ctx.layout.resultTmpDir, id);
  const image = join(tmp, LAYER_IMAGE);
  const lockPath = buildLockPath(ctx, id);
  let logOpen = true;
  let lease: Lease | undefined;
  try {
    await Promise.all(claim.trash.map(removeTree));
    const created = await createImage(ctx, spec, image, run.signal);
    lease = created.lease;
    await fn({
      id,
      dir: tmp,
      image,
      base: created.base,
      backing: created.backing,
      signal: run.signal,
      ...(spec.parent === undefined ? {} : { parent: spec.parent }),
      log: (chunk) => {
        const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        writeSync(claim.logFd, data);
        run.log(data);
      },
    });
    closeSync(claim.logFd);
    logOpen = false;
    if (spec.provideImage && !existsSync(image)) {
      throw new StoreOptionsError(
        `build ${id}: with \`provideImage\`, the step must write the layer's image at \`layer.image\`.`,
      );
    }
    const meta = {
      id,
      ...(spec.parent === undefined ? {} : { parent: spec.parent }),
      base: created.base,
      description: spec.description,
      created: Date.now(),
      depth: created.depth,
      bytes: await allocatedBytes(tmp),
    };
    // Every file at once (concurrent fsyncs share the filesystem's journal commits: one wait,
    // not one per file), then the directory's entries: all durable before the rename.
    await Promise.all([
      fsyncPath(join(tmp, LAYER_LOG)),
      fsyncPath(image),
      writeLayerMeta(join(tmp, LAYER_META), meta),
      fsyncPath(join(tmp, LAYER_ROOTFS)),
    ]);
    await fsyncPath(tmp);
    const replaced = ctx.mutex(`saving layer ${id}`, () => {
      // The old layer may have been removed meanwhile (strata rm): then there is nothing to replace.
      const replaces = claim.replaces && selectLayer(ctx.db, id) !== undefined;
      const old = replaces ? detachLayers(ctx, unusedSubtree(ctx, id)).trash : [];
      renameSync(tmp, join(ctx.layout.resultDir, id));
      upsertLayer(ctx.db, metaToRow(meta));
      releaseLockFile(lockPath, claim.owner);
      return old;
    });
    await fsyncPath(ctx.layout.resultDir);
    await Promise.all(replaced.map(removeTree));
    onSettled();
    run.succeed();
  } catch (caught) {
    const cancelled = run.signal.aborted;
    const error = isDiskFull(caught)
      ? new DiskFullError(`building layer ${id}`, { cause: caught })
      : cancelled
        ? new StepCancelledError(id, { cause: caught })
        : caught;
    if (logOpen) closeSync(claim.logFd);
    const trash = trashPath(ctx);
    const discard = () => {
      if (existsSync(tmp)) renameSync(tmp, trash);
      releaseLockFile(lockPath, claim.owner);
    };
    try {
      ctx.mutex(`discarding ${id}`, () => {
        ctx.db
          .prepare(
            "INSERT OR REPLACE INTO failures (token, id, cancelled, message, at) VALUES (?, ?, ?, ?, ?)",
          )
          .run(
            claim.owner.token,
            id,
            cancelled ? 1 : 0,
            String((error as Error)?.message ?? error),
            Date.now(),
          );
        discard();
      });
    } catch {
      // The database itself may be full or busy: still leave nothing behind. Waiters then find
      // no failure record and retry the step themselves.
      discard();
    }
    await removeTree(trash);
    onSettled();
    run.fail(error);
  } finally {
    lease?.release();
  }
}

/** Sends a finished layer's saved log through `onLog` (a cache hit). */
export async function replayLog(
  ctx: StoreContext,
  id: string,
  onLog: ((chunk: Buffer) => void) | undefined,
): Promise<void> {
  if (!onLog) return;
  const path = join(ctx.layout.resultDir, id, LAYER_LOG);
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) {
      onLog(chunk as Buffer);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new LayerCorruptError(id, `its log ${path} is missing`, { cause: error });
  }
}

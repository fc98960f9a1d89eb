import { existsSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { removeTree, type StoreContext, trashPath } from "./context.js";
import { type LayerRow, recountAllChildren, selectAllLayers } from "./database.js";
import { allocatedBytes } from "./disk-usage.js";
import { readLayerMeta } from "./layer-meta.js";
import { LAYER_IMAGE, LAYER_LOG, LAYER_META, parentBackingPath } from "./layout.js";
import { deleteLayer } from "./maintenance.js";
import { subtreePostOrder } from "./prune-plan.js";
import { checkImage, readImageInfo } from "./qemu-img.js";

/** One disagreement between the database and the directories, or one damaged layer. */
export interface CheckProblem {
  id: string;
  kind:
    | "unknown-dir"
    | "missing-file"
    | "bad-metadata"
    | "broken-chain"
    | "corrupt-image"
    | "orphan"
    | "wrong-size";
  message: string;
  repaired: boolean;
}

export interface CheckOptions {
  /** Fix what was found: drop damaged layers (and what is built on them), correct sizes. */
  repair?: boolean;
}

export interface CheckReport {
  layersChecked: number;
  problems: CheckProblem[];
}

async function problemOf(
  ctx: StoreContext,
  row: LayerRow,
  ids: Set<string>,
): Promise<Omit<CheckProblem, "repaired"> | undefined> {
  const dir = join(ctx.layout.resultDir, row.id);
  const problem = (kind: CheckProblem["kind"], message: string) => ({ id: row.id, kind, message });
  for (const file of [LAYER_IMAGE, LAYER_LOG, LAYER_META]) {
    if (!existsSync(join(dir, file))) return problem("missing-file", `${file} is missing`);
  }
  if (!readLayerMeta(join(dir, LAYER_META), row.id))
    return problem("bad-metadata", `${LAYER_META} is malformed`);
  if (row.parent !== null && !ids.has(row.parent))
    return problem("orphan", `its parent ${row.parent} is gone`);
  let backing: string | undefined;
  try {
    backing = (await readImageInfo(join(dir, LAYER_IMAGE))).backingFilename;
  } catch (error) {
    return problem("corrupt-image", `qemu-img cannot read its image: ${(error as Error).message}`);
  }
  const expected =
    row.depth === 0
      ? undefined
      : row.parent === null
        ? `../../../base-image/${row.base}.qcow2`
        : parentBackingPath(row.parent);
  if (backing !== expected)
    return problem(
      "broken-chain",
      `its backing file is ${backing ?? "none"}, expected ${expected ?? "none"}`,
    );
  const check = await checkImage(join(dir, LAYER_IMAGE));
  if (!check.ok) return problem("corrupt-image", check.problem ?? "qemu-img check failed");
  return undefined;
}

/**
 * `strata store check`: verifies every layer's files, metadata, backing reference and qcow2
 * consistency, and that sizes and child counts match the database. With `repair`, damaged
 * layers are removed together with the layers built on them (they are rebuilt when needed).
 */
export async function checkStore(ctx: StoreContext, options: CheckOptions): Promise<CheckReport> {
  const repair = options.repair === true;
  const rows = selectAllLayers(ctx.db);
  const ids = new Set(rows.map((row) => row.id));
  const problems: CheckProblem[] = [];
  for (const entry of readdirSync(ctx.layout.resultDir)) {
    if (ids.has(entry)) continue;
    let repaired = false;
    if (repair) {
      const to = trashPath(ctx);
      ctx.mutex(`removing ${entry}`, () => {
        if (!ids.has(entry) && existsSync(join(ctx.layout.resultDir, entry)))
          renameSync(join(ctx.layout.resultDir, entry), to);
      });
      await removeTree(to);
      repaired = true;
    }
    problems.push({
      id: entry,
      kind: "unknown-dir",
      message: `result/${entry} has no record and no readable metadata`,
      repaired,
    });
  }
  const damaged: string[] = [];
  for (const row of rows) {
    const found = await problemOf(ctx, row, ids);
    if (found) {
      damaged.push(row.id);
      problems.push({ ...found, repaired: repair });
      continue;
    }
    const bytes = await allocatedBytes(join(ctx.layout.resultDir, row.id));
    // Allocation moves with the filesystem (a copy with `cp -a` or rsync re-packs sparse
    // files, metadata is written after measuring): flag only a real difference.
    if (Math.abs(bytes - row.bytes) > Math.max(1024 * 1024, row.bytes / 4)) {
      if (repair) ctx.db.prepare("UPDATE layers SET bytes = ? WHERE id = ?").run(bytes, row.id);
      problems.push({
        id: row.id,
        kind: "wrong-size",
        message: `recorded ${row.bytes} bytes, uses ${bytes}`,
        repaired: repair,
      });
    }
  }
  if (repair) {
    for (const id of damaged) {
      const candidates = selectAllLayers(ctx.db).map((row) => ({
        id: row.id,
        ...(row.parent ? { parent: row.parent } : {}),
      }));
      if (!candidates.some((row) => row.id === id)) continue;
      // Layers built on a damaged one read through it: they go too.
      if (subtreePostOrder(candidates, id).length > 0) await deleteLayer(ctx, id);
    }
    ctx.mutex("recounting children", () => recountAllChildren(ctx.db));
  }
  return { layersChecked: rows.length, problems };
}

import {
  applyOp,
  type BuildContext,
  buildCopyManifest,
  copyDestination,
  copyLayerId,
  initialContext,
  runLayerId,
} from "@strata/builder";
import type { Spec } from "@strata/spec-parser";
import type { BaseInfo } from "./schema.js";

/** A base image as one worker knows it (its first layer's ID, guest OS, shell). */
export type BaseLookup = (name: string) => BaseInfo | undefined;

/**
 * The layer IDs of a spec's `run` and `copy` steps, in order, as a worker with these base
 * images would make them, computed without a VM (the same functions the build engine calls).
 * The chain stops early where an ID cannot be known here: a step that uses a secret (the values
 * stay on the workers) or a base image the worker lacks.
 */
export async function computeLayerChain(
  spec: Spec,
  contextDir: string,
  bases: BaseLookup,
): Promise<string[]> {
  const stages = new Map<string, string | undefined>();
  for (const child of spec.builds) {
    const r = await stageChain(child.spec, contextDir, bases, stages);
    stages.set(child.name, r.complete ? r.last : undefined);
  }
  return (await stageChain(spec, contextDir, bases, stages)).chain;
}

async function stageChain(
  spec: Spec,
  contextDir: string,
  bases: BaseLookup,
  stages: ReadonlyMap<string, string | undefined>,
): Promise<{ chain: string[]; last: string | undefined; complete: boolean }> {
  const base = bases(spec.from);
  if (!base) return { chain: [], last: undefined, complete: false };
  let ctx: BuildContext = initialContext(base.os, base.shell);
  let id = base.layerId;
  const chain: string[] = [];
  for (const op of spec.ops) {
    if (op.op === "run") {
      if (op.secrets.length > 0) return { chain, last: id, complete: false };
      id = runLayerId(id, ctx, op.shell, op.network, []);
    } else if (op.op === "copy") {
      const dst = copyDestination(ctx, op.dst);
      if (op.from === "context") {
        const manifest = await buildCopyManifest({
          contextDir,
          src: op.src,
          dst,
          exclude: op.exclude,
        });
        id = copyLayerId(id, ctx, dst, manifest);
      } else {
        const stageId = stages.get(op.from.build);
        if (stageId === undefined) return { chain, last: id, complete: false };
        id = copyLayerId(id, ctx, dst, [], JSON.stringify([stageId, op.src, op.exclude]));
      }
    } else {
      ctx = applyOp(ctx, op);
      continue;
    }
    chain.push(id);
  }
  return { chain, last: id, complete: true };
}

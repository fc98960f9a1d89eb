import type { CacheStrategy } from "@strata/cache-sync";
import {
  chooseAccelerator,
  defaultManifest,
  type GuestArch,
  type GuestOs,
  type ImageManifest,
  loadImageManifest,
} from "@strata/qemu-runner";
import { printOperation, type Spec } from "@strata/spec-parser";
import { ensureKeyPair } from "@strata/ssh-transport";
import { baseImageIdentity, LayerNotFoundError, type Lease, type Store } from "@strata/store";
import { applyOp, type BuildContext, initialContext } from "./build-context.js";
import { copyStep, type StageResult } from "./copy-step.js";
import { BuildError } from "./errors.js";
import type { BuildEventListener } from "./events.js";
import type { MachineOptions } from "./guest.js";
import { baseLayerId } from "./layer-id.js";
import { LiveSession } from "./live-session.js";
import { type BuildRegistryOptions, RegistryLink } from "./registry-link.js";
import { runStep } from "./run-step.js";
import { checkSecrets, type SecretValues } from "./secrets.js";
import { selectStages } from "./select-stages.js";
import { StateWriter } from "./state-writer.js";
import type { StepEnv } from "./step-env.js";
import { machineIdentity } from "./warm-state.js";

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

export interface RunBuildOptions extends MachineOptions {
  store: Store;
  spec: Spec;
  /** Host directory `(copy (src ...))` reads from. */
  contextDir: string;
  /** Values for the spec's secrets (see `loadSecrets`). @default none */
  secrets?: SecretValues;
  /** Guest OS of base images without a manifest (`--qemu-guest-os`). @default "linux" */
  guestOs?: GuestOs;
  /**
   * Architecture of base images without a manifest (`--qemu-guest-arch`); an image whose
   * manifest names another is a GUEST_ARCH_MISMATCH before any VM starts. @default "x86_64"
   */
  guestArch?: GuestArch;
  /** @default "auto": disk caches on Linux and BSD guests, copy on Windows */
  cacheStrategy?: CacheStrategy | "auto";
  /**
   * Largest a cache may be: a `copy` cache that comes back bigger is refused (the step fails
   * with CACHE_TRANSFER_FAILED and the cache keeps its previous version), and a new `disk` cache
   * gets this virtual size. @default DEFAULT_CACHE_COPY_MAX_BYTES (64 GiB)
   */
  cacheMaxBytes?: number | undefined;
  /** Limit on one step's command. @default none */
  stepTimeoutMs?: number | undefined;
  /**
   * "auto": a step resumes its parent's saved VM state when this machine can (no boot), and
   * each step's state is saved beside its layer. "off": every step boots and powers off.
   * @default "auto"
   */
  warm?: "auto" | "off" | undefined;
  /** Keep saved VM states only for the last N layers of each chain. @default all */
  warmKeep?: number | undefined;
  /**
   * Build only this child build (stage) of the spec, after the stages it copies from, and
   * return its layer. @default the whole spec
   */
  target?: string | undefined;
  /** Use a registry as a shared layer cache (`--registry`). @default none */
  registry?: BuildRegistryOptions | undefined;
  /**
   * Run every step again (`--no-cache`): no cached layer, no registry pull, no resume of a VM
   * state this build did not save. Each result keeps its ID (the step's key) and replaces the
   * cached layer once complete; layers built on a replaced one are removed with it (see
   * `Store.build`'s `rebuild`). The `(from)` layer, an empty overlay of the base image that runs
   * nothing, is kept. With a registry nothing is pulled, and a rebuilt layer is pushed only
   * where the registry lacks its tag: the registry keeps its own copy of a step, and a layer
   * that names another parent disk than a store holds is refused on pull (`parentDisk`).
   * @default false
   */
  noCache?: boolean | undefined;
  signal?: AbortSignal;
  onEvent?: BuildEventListener;
}

/**
 * Runs a spec against the store and returns the ID of its final layer. Every layer the build
 * reaches (built or found cached, a finished stage's result included) is leased until the build
 * ends, so a concurrent `strata store clean`, `prune` or `delete` cannot remove it from under us.
 */
export async function runBuild(o: RunBuildOptions): Promise<string> {
  const emit = o.onEvent ?? (() => {});
  const secrets = o.secrets ?? new Map();
  // Every problem that needs no VM is found before the first one starts.
  checkSecrets(o.spec, secrets);
  const children = selectStages(o.spec, o.target);
  await checkGuestArch(o, [...children.map((c) => c.spec), ...(o.target ? [] : [o.spec])]);
  const leases: Lease[] = [];
  // Saved states still being compressed when the build ends are waited for (or, cancelled, gone).
  const states = new StateWriter(emit);
  try {
    const stages = new Map<string, StageResult>();
    const registry = o.registry ? new RegistryLink(o.registry, o.store, emit, o.signal) : undefined;
    const run: StageRun = {
      secrets,
      emit,
      registry,
      leases,
      states,
      steps: 0,
      built: new Set(),
    };
    for (const child of children) {
      const id = await runStage(o, child.spec, child.name, stages, run);
      stages.set(child.name, { id, image: o.store.layerImage(id) });
    }
    const id =
      o.target === undefined
        ? await runStage(o, o.spec, undefined, stages, run)
        : stages.get(o.target)!.id;
    await states.settle();
    emit({ type: "done", id });
    return id;
  } finally {
    await states.settle();
    for (const lease of leases) lease.release();
  }
}

/**
 * Runs `step` (which builds or finds a layer) and leases the layer it returns. A concurrent
 * removal can still win between the two; the step then runs again, so the layer we go on with
 * is always one we hold.
 */
async function pinned(store: Store, leases: Lease[], step: () => Promise<string>): Promise<string> {
  for (;;) {
    const id = await step();
    try {
      leases.push(store.pin(id));
      return id;
    } catch (error) {
      if (!(error instanceof LayerNotFoundError)) throw error;
    }
  }
}

/** What every stage of one build shares. */
interface StageRun {
  secrets: SecretValues;
  emit: BuildEventListener;
  registry: RegistryLink | undefined;
  /** Leases on every layer the build reached; released when it ends. */
  leases: Lease[];
  /** Saved VM states being finished beside the build. */
  states: StateWriter;
  /** Steps announced so far (the next step's index). */
  steps: number;
  /** Layers this build ran, in every stage (see StepEnv.built). */
  built: Set<string>;
}

/**
 * The base image's manifest; without one, OBuilder's defaults for `--qemu-guest-os` and
 * `--qemu-guest-arch`.
 */
async function loadManifest(
  o: RunBuildOptions,
  image: string,
  name: string,
  hasManifest: boolean,
): Promise<ImageManifest> {
  return hasManifest
    ? loadImageManifest(image)
    : defaultManifest(name, o.guestOs ?? "linux", o.guestArch);
}

/** Refuses a base image whose manifest names another architecture than `guestArch`. */
async function checkGuestArch(o: RunBuildOptions, specs: readonly Spec[]): Promise<void> {
  if (o.guestArch === undefined) return;
  for (const from of new Set(specs.map((s) => s.from))) {
    const base = o.store.findBaseImage(from);
    if (base.manifestPath === undefined) continue;
    const { arch } = await loadImageManifest(base.image);
    if (arch !== o.guestArch)
      throw new BuildError(
        "GUEST_ARCH_MISMATCH",
        `base image "${from}" is ${arch} (its manifest says so), but the guest architecture asked for is ${o.guestArch}; the architecture flag only applies to images without a manifest: drop it or ask for ${arch}`,
      );
  }
}

async function runStage(
  o: RunBuildOptions,
  spec: Spec,
  stage: string | undefined,
  stages: ReadonlyMap<string, StageResult>,
  run: StageRun,
): Promise<string> {
  const { secrets, emit, registry, leases, states } = run;
  const base = o.store.findBaseImage(spec.from);
  const manifest = await loadManifest(o, base.image, spec.from, base.manifestPath !== undefined);
  const privateKeyPath =
    manifest.ssh.privateKey ?? (await ensureKeyPair(o.store.keysDir)).privateKeyPath;
  const identity = once(async () => {
    const { accel } = await chooseAccelerator(o.accel ?? "auto", {
      arch: manifest.arch,
    });
    return machineIdentity(manifest, accel, o.memoryMiB, o.cpus);
  });
  // Stopped without saving on failure or Ctrl-C; released (state saved when kept) at the end.
  await using live = new LiveSession({
    store: o.store,
    identity,
    warmKeep: o.warmKeep,
    states,
    signal: o.signal,
  });
  const env: StepEnv = {
    store: o.store,
    manifest,
    privateKeyPath,
    machine: o,
    secrets,
    cacheStrategy: o.cacheStrategy ?? "auto",
    cacheMaxBytes: o.cacheMaxBytes,
    stepTimeoutMs: o.stepTimeoutMs,
    signal: o.signal,
    emit,
    warm: o.warm ?? "auto",
    warmKeep: o.warmKeep,
    registry,
    noCache: o.noCache ?? false,
    built: run.built,
    live,
    states,
    identity,
  };
  let ctx: BuildContext = initialContext(manifest.os, manifest.shell);
  const fromText = `(from ${spec.from})`;
  emit({ type: "step", index: run.steps++, stage, workdir: ctx.workdir, op: fromText });
  const baseId = baseLayerId(spec.from, baseImageIdentity(base.image));
  let id = baseId;
  await pinned(o.store, leases, async () => {
    const first = await o.store.build(
      baseId,
      { base: spec.from, description: fromText, signal: o.signal },
      async () => {},
    );
    emit(first.cached ? { type: "cached", id: baseId } : { type: "saved", id: baseId });
    return baseId;
  });
  const steps = spec.ops.filter((op) => op.op === "run" || op.op === "copy").length;
  let done = 0;
  for (const op of spec.ops) {
    const text = printOperation(op);
    if (op.op === "run" || op.op === "copy") live.remaining = steps - ++done;
    if (op.op === "run" || op.op === "copy")
      emit({ type: "step", index: run.steps++, stage, workdir: ctx.workdir, op: text });
    if (op.op === "comment") emit({ type: "comment", text: op.text });
    const parent = id;
    if (op.op === "run") {
      id = await pinned(o.store, leases, () => runStep(env, parent, ctx, op, text));
    } else if (op.op === "copy") {
      id = await pinned(o.store, leases, () =>
        copyStep(env, parent, ctx, op, text, o.contextDir, stages),
      );
    } else ctx = applyOp(ctx, op);
  }
  // The next stage (or a copy from this one) reads this stage's last layer: no VM may hold it.
  await live.release();
  return id;
}

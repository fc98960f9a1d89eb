import type { DriveSpec } from "@strata/qemu-runner";
import type { BuildStepFn } from "@strata/store";
import type { Guest } from "./guest.js";
import { resumeOrBoot } from "./resume-or-boot.js";
import { mustRebuild, type StepEnv } from "./step-env.js";
import { dropWarmState } from "./warm-state.js";

interface StepGuestOptions {
  /** The new layer's image (an overlay of `parent`'s). */
  image: string;
  parent: string;
  network: "host" | "restricted";
  drives?: readonly DriveSpec[];
  signal: AbortSignal;
}

/**
 * The VM a step runs in. With `--warm=auto`: the stage's VM, still up from the previous step on
 * exactly `parent`, continued on the new overlay; else the parent layer's saved state resumed;
 * else a cold boot. Emits a `vm` event saying which and what it took.
 */
export async function startStepGuest(env: StepEnv, o: StepGuestOptions): Promise<Guest> {
  const started = Date.now();
  const drives = (o.drives ?? []).map((d, i) => ({ ...d, serial: d.serial ?? `strata-d${i}` }));
  if (env.warm === "auto") {
    const live = await env.live.continueOn(o.parent, o.network, o.image);
    if (live) {
      try {
        await live.guest.attachDrives(drives);
      } catch (err) {
        await live.guest[Symbol.asyncDispose]();
        throw err;
      }
      env.emit({ type: "vm", how: "continued", ms: Date.now() - started, ...live.timings });
      return live.guest;
    }
  }
  // --no-cache resumes only states this build saved (a continued VM above is always one).
  const resume = env.warm === "auto" && !mustRebuild(env, o.parent);
  // This build may still be compressing the parent's state.
  if (resume) await env.states.written(env.store.layerDir(o.parent));
  const start = await resumeOrBoot({
    ...env.machine,
    store: env.store,
    layer: o.parent,
    identity: resume ? await env.identity() : undefined,
    emit: env.emit,
    image: o.image,
    manifest: env.manifest,
    privateKeyPath: env.privateKeyPath,
    network: o.network,
    drives,
    signal: o.signal,
    onEvent: (e) =>
      e.type === "warning" ? env.emit({ type: "warning", message: e.message }) : undefined,
  });
  const ms = Date.now() - started;
  if (start.how === "resumed") env.emit({ type: "vm", how: "resumed", ms });
  else {
    const reason = env.warm === "auto" && !resume ? { code: "no-cache" as const } : start.reason;
    env.emit({ type: "vm", how: "booted", ms, ...(reason ? { reason } : {}) });
  }
  return start.guest;
}

/**
 * Ends a step's VM once its work is done. With `--warm=auto` it is parked for the next step of
 * the stage (its state saved beside the layer when kept), except after a `(network host)` step:
 * that VM is stopped, its state saved into `layerDir` when kept, so the stage's VM never goes on
 * with the host's network (the next step resumes or boots on its own network). With
 * `--warm=off` it is powered off.
 */
export async function finishStepGuest(
  env: StepEnv,
  guest: Guest,
  layer: { id: string; dir: string },
  network: "host" | "restricted",
): Promise<void> {
  if (env.warm !== "auto") return guest.shutdown();
  if (network === "host") return env.live.stop(guest, layer.dir);
  await env.live.park(guest, layer.id);
}

/**
 * Makes step layer `id` on `parent`: pulled from the registry or found cached, else built by
 * `work` (unless `--no-cache` says it must run again); then reports it and pushes it.
 */
export async function buildStepLayer(
  env: StepEnv,
  id: string,
  parent: string,
  description: string,
  work: BuildStepFn,
): Promise<string> {
  const rebuild = mustRebuild(env, id);
  const pulled = rebuild ? false : ((await env.registry?.pull(id)) ?? false);
  const result = await env.store.build(
    id,
    {
      parent,
      description,
      rebuild,
      signal: env.signal,
      onLog: (chunk) => env.emit({ type: "output", chunk }),
    },
    work,
  );
  await reportStepLayer(env, id, result.cached, pulled);
  return id;
}

/**
 * After a step's `store.build`: reports the layer (`cached`, with `pulled` when the registry
 * just brought it, or `saved`), trims the warm states of a new one, and pushes it.
 */
async function reportStepLayer(
  env: StepEnv,
  id: string,
  cached: boolean,
  pulled: boolean,
): Promise<void> {
  env.emit(cached ? { type: "cached", id, ...(pulled ? { pulled } : {}) } : { type: "saved", id });
  if (!cached) env.built.add(id);
  if (!cached) await trimWarmStates(env, id);
  await env.registry?.push(id);
}

/** Keeps saved states only on the last `keep` layers of the chain ending at `id`. */
async function trimWarmStates(env: StepEnv, id: string): Promise<void> {
  if (env.warmKeep === undefined) return;
  let current = env.store.lookup(id)?.parent;
  for (let depth = 1; current; depth++) {
    if (depth >= env.warmKeep) {
      const dir = env.store.layerDir(current);
      await env.states.written(dir);
      if (await dropWarmState(dir)) await env.store.remeasure(current);
    }
    current = env.store.lookup(current)?.parent;
  }
}

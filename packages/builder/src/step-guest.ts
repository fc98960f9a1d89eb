import { join } from "node:path";
import { type DriveSpec, QemuStateError } from "@strata/qemu-runner";
import { bootGuest, type Guest } from "./guest.js";
import { mustRebuild, type StepEnv } from "./step-env.js";
import { dropWarmState, findWarmState, STATE_FILE, writeWarmMeta } from "./warm-state.js";

interface StepGuestOptions {
  /** The new layer's image (an overlay of `parent`'s). */
  image: string;
  parent: string;
  network: "host" | "restricted";
  drives?: readonly DriveSpec[];
  signal: AbortSignal;
}

/**
 * The VM a step runs in: resumed from the parent layer's saved state when there is one this
 * machine can use (`--warm=auto`), else booted cold; verbose output says which and why. A saved
 * state that fails to load is removed and the step boots cold.
 */
export async function startStepGuest(env: StepEnv, o: StepGuestOptions): Promise<Guest> {
  const info = (message: string) => env.emit({ type: "info", message });
  const parentDir = env.store.layerDir(o.parent);
  let resumeFrom: string | undefined;
  if (env.warm === "auto" && mustRebuild(env, o.parent)) {
    info("cold boot: --no-cache resumes only VM states this build saved");
  } else if (env.warm === "auto") {
    const found = await findWarmState(parentDir, await env.identity());
    if ("path" in found) resumeFrom = found.path;
    else info(`cold boot: ${found.reason}`);
  }
  const boot = (from: string | undefined) => {
    env.emit({ type: "phase", phase: from ? "resuming" : "booting" });
    return bootGuest({
      ...env.machine,
      image: o.image,
      manifest: env.manifest,
      privateKeyPath: env.privateKeyPath,
      network: o.network,
      drives: (o.drives ?? []).map((d, i) => ({ ...d, serial: d.serial ?? `strata-d${i}` })),
      resumeFrom: from,
      signal: o.signal,
      onEvent: (e) =>
        e.type === "warning" ? env.emit({ type: "warning", message: e.message }) : undefined,
      onWaitingForSsh: () => env.emit({ type: "phase", phase: "waiting-for-ssh" }),
    });
  };
  const started = Date.now();
  const took = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  let guest: Guest;
  try {
    guest = await boot(resumeFrom);
  } catch (err) {
    if (!(resumeFrom && err instanceof QemuStateError)) throw err;
    env.emit({
      type: "warning",
      message: `the saved VM state of ${o.parent.slice(0, 12)} is unusable (${err.message}); removed, booting cold`,
    });
    await dropWarmState(parentDir);
    await env.store.remeasure(o.parent);
    resumeFrom = undefined;
    guest = await boot(undefined);
  }
  info(
    `${resumeFrom ? "resumed from the parent's saved state" : "booted"} in ${took()} (ssh port ${guest.vm.sshPort})`,
  );
  return guest;
}

/** Ends a step's VM: saved for its children to resume (`--warm=auto`), or powered off. */
export async function finishStepGuest(env: StepEnv, guest: Guest, layerDir: string): Promise<void> {
  if (env.warm !== "auto") return guest.shutdown();
  await guest.suspend(join(layerDir, STATE_FILE));
  await writeWarmMeta(layerDir, await env.identity());
}

/**
 * After a step's `store.build`: reports the layer (`cached`, with `pulled` when the registry
 * just brought it, or `saved`), trims the warm states of a new one, and pushes it.
 */
export async function reportStepLayer(
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
    if (depth >= env.warmKeep && (await dropWarmState(env.store.layerDir(current))))
      await env.store.remeasure(current);
    current = env.store.lookup(current)?.parent;
  }
}

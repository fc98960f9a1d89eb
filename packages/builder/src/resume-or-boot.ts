import { QemuStateError } from "@strata/qemu-runner";
import type { Store } from "@strata/store";
import type { BuildEventListener, ColdBootReason } from "./events.js";
import { type BootGuestOptions, bootGuest, type Guest } from "./guest.js";
import { dropWarmState, findWarmState, type MachineIdentity } from "./warm-state.js";

interface ResumeOrBootOptions extends Omit<BootGuestOptions, "resumeFrom"> {
  store: Store;
  /** The finished layer whose disk `image` is an overlay of. */
  layer: string;
  /** This machine, to match against the layer's saved state; undefined: always boot. */
  identity: MachineIdentity | undefined;
  emit: BuildEventListener;
}

/**
 * The one way a VM starts on a finished layer, for build steps and `strata shell` alike: resume
 * the layer's saved state when this machine can use it, else boot cold (`reason` says why, when
 * a resume was tried). A state that fails to load is removed, with a warning, and the guest
 * boots cold.
 */
export async function resumeOrBoot(
  o: ResumeOrBootOptions,
): Promise<
  { guest: Guest; how: "resumed" } | { guest: Guest; how: "booted"; reason?: ColdBootReason }
> {
  const { store, layer, identity, emit, ...rest } = o;
  const boot = {
    ...rest,
    onWaitingForSsh: () => emit({ type: "phase", phase: "waiting-for-ssh" }),
  };
  const dir = store.layerDir(layer);
  let resumeFrom: string | undefined;
  let reason: ColdBootReason | undefined;
  if (identity) {
    const found = await findWarmState(dir, identity);
    if ("path" in found) resumeFrom = found.path;
    else reason = found.reason;
  }
  if (resumeFrom) {
    emit({ type: "phase", phase: "resuming" });
    try {
      return { guest: await bootGuest({ ...boot, resumeFrom }), how: "resumed" };
    } catch (err) {
      if (!(err instanceof QemuStateError)) throw err;
      emit({
        type: "warning",
        message: `the saved VM state of ${layer.slice(0, 12)} is unusable (${err.message}); removed, booting cold`,
      });
      await dropWarmState(dir);
      await store.remeasure(layer);
    }
  }
  emit({ type: "phase", phase: "booting" });
  return { guest: await bootGuest(boot), how: "booted", ...(reason ? { reason } : {}) };
}

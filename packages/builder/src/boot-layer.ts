import { chooseAccelerator, defaultManifest, loadImageManifest } from "@strata/qemu-runner";
import { ensureKeyPair } from "@strata/ssh-transport";
import type { Store } from "@strata/store";
import { BuildError } from "./errors.js";
import type { BuildEventListener } from "./events.js";
import type { Guest, MachineOptions } from "./guest.js";
import { resumeOrBoot } from "./resume-or-boot.js";
import { createScratchOverlay, type ScratchOverlay } from "./scratch-overlay.js";
import { machineIdentity } from "./warm-state.js";

export interface BootLayerOptions extends MachineOptions {
  store: Store;
  /** Layer ID to boot. */
  id: string;
  network?: "host" | "restricted";
  signal?: AbortSignal;
  /** Warnings (a corrupt saved state removed) and detail (why it booted cold). @default none */
  onEvent?: BuildEventListener;
}

/**
 * Boots a VM on a throw-away overlay of a finished layer (for `strata shell`): the layer itself
 * is never written, and everything the session changes is gone when the guest is disposed.
 */
export async function bootLayer(o: BootLayerOptions): Promise<Guest> {
  const info = o.store.lookup(o.id);
  if (!info)
    throw new BuildError(
      "LAYER_NOT_FOUND",
      `no layer "${o.id}" in ${o.store.root}; "strata ls" lists them`,
    );
  const lease = o.store.pin(o.id);
  let scratch: ScratchOverlay | undefined;
  const cleanup = async () => {
    lease.release();
    await scratch?.[Symbol.asyncDispose]();
  };
  try {
    const base = o.store.findBaseImage(info.base);
    const manifest = base.manifestPath
      ? await loadImageManifest(base.image)
      : defaultManifest(info.base);
    scratch = await createScratchOverlay(o.store.layerImage(o.id), o.signal);
    const overlay = scratch.path;
    const privateKeyPath =
      manifest.ssh.privateKey ?? (await ensureKeyPair(o.store.keysDir)).privateKeyPath;
    // The layer's own saved state fits an overlay of the layer: resume it instead of booting.
    const { accel } = await chooseAccelerator(o.accel ?? "auto", {
      arch: manifest.arch,
    });
    const { guest } = await resumeOrBoot({
      memoryMiB: o.memoryMiB,
      cpus: o.cpus,
      accel: o.accel,
      bootTimeoutMs: o.bootTimeoutMs,
      shutdownTimeoutMs: o.shutdownTimeoutMs,
      signal: o.signal,
      store: o.store,
      layer: o.id,
      identity: await machineIdentity(manifest, accel, o.memoryMiB, o.cpus),
      emit: o.onEvent ?? (() => {}),
      image: overlay,
      manifest,
      privateKeyPath,
      network: o.network ?? "restricted",
    });
    guest.defer(cleanup);
    return guest;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

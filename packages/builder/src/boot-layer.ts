import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  chooseAccelerator,
  defaultManifest,
  loadImageManifest,
  QemuStateError,
  qemuBinary,
} from "@strata/qemu-runner";
import { ensureKeyPair } from "@strata/ssh-transport";
import type { Store } from "@strata/store";
// execa is loaded on first use: it costs ~130 ms, and a fully cached build runs no process.
import { BuildError } from "./errors.js";
import { bootGuest, type Guest, type MachineOptions } from "./guest.js";
import { findWarmState, machineIdentity } from "./warm-state.js";

export interface BootLayerOptions extends MachineOptions {
  store: Store;
  /** Layer ID to boot. */
  id: string;
  network?: "host" | "restricted";
  signal?: AbortSignal;
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
  const dir = await mkdtemp(join(tmpdir(), "strata-shell-"));
  const cleanup = async () => {
    lease.release();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const base = o.store.findBaseImage(info.base);
    const manifest = base.manifestPath
      ? await loadImageManifest(base.image)
      : defaultManifest(info.base);
    const overlay = join(dir, "overlay.qcow2");
    const { execa } = await import("execa");
    await execa("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-F",
      "qcow2",
      "-b",
      o.store.layerImage(o.id),
      overlay,
    ]);
    const privateKeyPath =
      manifest.ssh.privateKey ?? (await ensureKeyPair(o.store.keysDir)).privateKeyPath;
    // The layer's own saved state fits an overlay of the layer: resume it instead of booting.
    const { accel } = await chooseAccelerator(o.accel ?? "auto", {
      qemuBinary: qemuBinary(manifest.arch),
    });
    const identity = await machineIdentity(manifest, accel, o.memoryMiB, o.cpus);
    const found = await findWarmState(o.store.layerDir(o.id), identity);
    const boot = (resumeFrom: string | undefined) =>
      bootGuest({
        ...o,
        image: overlay,
        manifest,
        privateKeyPath,
        network: o.network ?? "restricted",
        resumeFrom,
      });
    let guest: Guest;
    try {
      guest = await boot("path" in found ? found.path : undefined);
    } catch (err) {
      if (!("path" in found && err instanceof QemuStateError)) throw err;
      guest = await boot(undefined);
    }
    guest.defer(cleanup);
    return guest;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

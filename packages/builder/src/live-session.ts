import { rm } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  compressVmState,
  continueVm,
  dumpVmState,
  rawStatePath,
  snapshotRootDisk,
} from "@strata/qemu-runner/internal";
import type { Store } from "@strata/store";
import type { Guest } from "./guest.js";
import type { StateWriter } from "./state-writer.js";
import { type MachineIdentity, STATE_FILE, writeWarmMeta } from "./warm-state.js";

/** A paused guest whose root disk is exactly a finished layer, waiting for the next step. */
interface Parked {
  guest: Guest;
  layer: string;
  /** Save the layer's memory for later warm starts (`--warm-keep` keeps it). */
  keepState: boolean;
  /** Quiescing, unplugging and pausing it at the end of its step. */
  parkMs: number;
}

/** What continuing on a parked guest cost, for the step's `vm` event. */
interface ContinueTimings {
  /** Ending the previous step: quiesce (sync + fsfreeze), unplug its disks, pause. */
  parkMs: number;
  /** Moving the root disk onto the new layer's overlay (QMP). */
  snapshotMs: number;
  /**
   * Writing the previous layer's memory with the guest paused, 0 when not kept (its
   * compression runs beside the step, see {@link StateWriter}).
   */
  stateMs: number;
}

interface LiveSessionOptions {
  store: Store;
  identity: () => Promise<MachineIdentity>;
  /** Keep saved states only on the last N layers of a chain. @default all */
  warmKeep: number | undefined;
  /** Finishes saved states beside the build (one for all its stages). */
  states: StateWriter;
  /** The build's: cancels the states still being finished. */
  signal: AbortSignal | undefined;
}

/**
 * One VM per stage: a step that ends well parks its guest here instead of stopping it, and the
 * next step, when it builds on exactly that layer without `(network host)`, continues in it on
 * a new overlay (a live external snapshot). Anything else releases the parked guest: its state
 * is saved beside its layer when kept, then QEMU is stopped at once (no power-off).
 */
export class LiveSession implements AsyncDisposable {
  #parked: Parked | undefined;
  /** run/copy steps of the stage after the current one; set by the engine before each step. */
  remaining = 0;

  constructor(readonly o: LiveSessionOptions) {}

  /** Parks a finished step's guest (see {@link Guest.park}); its layer is about to be saved. */
  async park(guest: Guest, layer: string): Promise<void> {
    await this.release();
    const t = Date.now();
    await guest.park();
    this.#parked = { guest, layer, keepState: this.#keepsState(), parkMs: Date.now() - t };
  }

  /**
   * The parked guest, moved onto `image` (an empty overlay of `parent`'s image) and running,
   * when it is on `parent` and the step is not `(network host)`; otherwise releases it and
   * resolves undefined.
   */
  async continueOn(
    parent: string,
    network: "host" | "restricted",
    image: string,
  ): Promise<{ guest: Guest; timings: ContinueTimings } | undefined> {
    const p = this.#parked;
    if (!p || p.layer !== parent || network === "host") {
      await this.release();
      return undefined;
    }
    this.#parked = undefined;
    p.guest.unpark();
    try {
      let t = Date.now();
      await snapshotRootDisk(p.guest.vm, image);
      const snapshotMs = Date.now() - t;
      t = Date.now();
      // The guest has not run since it was paused: its memory still matches the parent's disk.
      // Written with the guest paused; `cont` below gives the disks back (see dumpVmState).
      if (p.keepState) await this.#saveState(p.guest, this.o.store.layerDir(p.layer), p.layer);
      const stateMs = p.keepState ? Date.now() - t : 0;
      await continueVm(p.guest.vm);
      // Its clock stood still while it was paused: the step's first root script sets it.
      p.guest.clockBehind = true;
      return { guest: p.guest, timings: { parkMs: p.parkMs, snapshotMs, stateMs } };
    } catch (err) {
      await p.guest[Symbol.asyncDispose]();
      throw err;
    }
  }

  /** Saves the parked guest's state when kept, then stops it. */
  async release(): Promise<void> {
    const p = this.#parked;
    if (!p) return;
    this.#parked = undefined;
    p.guest.unpark();
    try {
      // This guest must not run again (its disk is the finished layer).
      if (p.keepState) await this.#saveState(p.guest, this.o.store.layerDir(p.layer), p.layer);
    } finally {
      await p.guest[Symbol.asyncDispose]();
    }
  }

  /**
   * Ends a finished step's guest for good instead of parking it (a `(network host)` step: the
   * stage's VM never goes on with the host's network): quiesced, paused, its state saved into
   * `dir` (the layer being built) when kept, then stopped. The next step resumes or boots.
   */
  async stop(guest: Guest, dir: string): Promise<void> {
    await this.release();
    try {
      await guest.park();
      guest.unpark();
      // `dir` is renamed into the store once this step returns: the state is finished first.
      if (this.#keepsState()) await this.#saveState(guest, dir, undefined, { wait: true });
    } finally {
      guest.unpark();
      await guest[Symbol.asyncDispose]();
    }
  }

  #keepsState(): boolean {
    return this.o.warmKeep === undefined || this.remaining < this.o.warmKeep;
  }

  /**
   * Saves `guest`'s state (paused, see dumpVmState) into `dir`, with the machine identity beside
   * it; `layer`, when the layer is already in the store, is measured again. Only the raw state is
   * written here: its compression and the rest run beside the build (see StateWriter), or before
   * returning with `wait`. A failure is a warning: the layer is good, only later warm starts
   * lose it. The state takes its name only when whole: a killed build leaves none.
   */
  async #saveState(
    guest: Guest,
    dir: string,
    layer: string | undefined,
    o: { wait?: boolean } = {},
  ): Promise<void> {
    const path = join(dir, STATE_FILE);
    const raw = rawStatePath(path);
    const what = basename(dir).slice(0, 12);
    const finish = async () => {
      await compressVmState(raw, path, this.o.signal);
      await writeWarmMeta(dir, await this.o.identity());
      if (layer) await this.o.store.remeasure(layer);
    };
    try {
      await this.o.states.room();
      await dumpVmState(guest.vm, raw);
      if (o.wait) await finish();
      else this.o.states.add(dir, what, finish, this.o.signal);
    } catch (err) {
      await rm(raw, { force: true });
      this.o.states.warn(what, err);
    }
  }

  /** Stops a parked guest without saving anything (failure or cancellation). */
  async [Symbol.asyncDispose](): Promise<void> {
    const p = this.#parked;
    this.#parked = undefined;
    if (p) {
      p.guest.unpark();
      await p.guest[Symbol.asyncDispose]();
    }
  }
}

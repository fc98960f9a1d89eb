import { randomBytes } from "node:crypto";
import {
  type Accelerator,
  assertSshAccess,
  type ImageManifest,
  startVm,
  type Vm,
  type VmEvent,
} from "@strata/qemu-runner";
import {
  type HotplugDrive,
  hotAddDrive,
  hotplugPortArgs,
  hotRemoveDrive,
  INCOMING_ARGS,
  pauseVm,
  resumeVmState,
} from "@strata/qemu-runner/internal";
import { SshCommandError, type SshSession, waitForSsh } from "@strata/ssh-transport";
import { GuestQuiesceError, GuestShutdownError } from "./errors.js";
import { POSIX_SH } from "./posix.js";
import { type RootResult, RootShell } from "./root-shell.js";

/** How every VM of a build is started; fixed for the whole build. */
export interface MachineOptions {
  /** @default the manifest's */
  memoryMiB?: number | undefined;
  /** @default the manifest's */
  cpus?: number | undefined;
  /** @default "auto" */
  accel?: Accelerator | "auto" | undefined;
  /** Time from QEMU's start to a working SSH connection. @default DEFAULT_GUEST_BOOT_TIMEOUT_MS */
  bootTimeoutMs?: number | undefined;
  /** Time the guest gets to power off after ACPI power-down. @default DEFAULT_GUEST_SHUTDOWN_TIMEOUT_MS */
  shutdownTimeoutMs?: number | undefined;
}

export interface BootGuestOptions extends MachineOptions {
  image: string;
  manifest: ImageManifest;
  /** The private key to log in with (the manifest's, else the store's). */
  privateKeyPath: string;
  network: "host" | "restricted";
  /** Disks plugged in once the guest is up (every VM starts with the same devices). */
  drives?: readonly HotplugDrive[] | undefined;
  /** A state saved (see LiveSession) on exactly this disk's parent: resume, don't boot. */
  resumeFrom?: string | undefined;
  signal?: AbortSignal | undefined;
  onEvent?: ((event: VmEvent) => void) | undefined;
  /** Called once QEMU runs (and a saved state is loaded), before waiting for SSH. */
  onWaitingForSsh?: (() => void) | undefined;
}

export const DEFAULT_GUEST_BOOT_TIMEOUT_MS = 300_000;
export const DEFAULT_GUEST_SHUTDOWN_TIMEOUT_MS = 60_000;
/** Longest wait for the guest to flush and freeze its root file system. */
const QUIESCE_TIMEOUT_MS = 120_000;

/** A running guest with one SSH connection. Disposing stops it at once. */
export class Guest implements AsyncDisposable {
  #stopped = false;
  #parked = false;
  readonly #cleanups: (() => Promise<void>)[] = [];
  /** Root ports in use, and the serial of the disk in each. */
  readonly #plugged = new Map<number, string>();
  #root: RootShell | undefined;
  /**
   * The guest was paused (a continued step): its clock stood still meanwhile and lags the
   * host's. The step's first root script sets it (see `prepareGuest`) and clears this.
   */
  clockBehind = false;

  constructor(
    readonly vm: Vm,
    readonly ssh: SshSession,
    readonly os: ImageManifest["os"],
    readonly shutdownTimeoutMs: number,
  ) {}

  /** Runs `fn` once the VM is gone (after shutdown or dispose). */
  defer(fn: () => Promise<void>): void {
    this.#cleanups.push(fn);
  }

  async #cleanup(): Promise<void> {
    for (const fn of this.#cleanups.splice(0).reverse()) await fn().catch(() => {});
  }

  /** Plugs disks in and waits until the guest sees each as /dev/disk/by-id/virtio-<serial>. */
  async attachDrives(drives: readonly HotplugDrive[]): Promise<void> {
    for (const d of drives) {
      let port = 0;
      while (this.#plugged.has(port)) port++;
      await hotAddDrive(this.vm, port, d);
      this.#plugged.set(port, d.serial);
    }
    if (drives.length === 0 || this.os === "windows") return;
    const links = drives.map((d) => `/dev/disk/by-id/virtio-${d.serial}`).join(" ");
    const wait = `for i in $(seq 300); do ok=1; for l in ${links}; do [ -e "$l" ] || ok=; done; [ -n "$ok" ] && udevadm settle && exit 0; sleep 0.1; done; echo "plugged disks did not appear: ${links}" >&2; exit 1`;
    await this.ssh.exec(wait, { shell: POSIX_SH, check: true });
  }

  /** Unplugs the disk with this serial (the guest must be done with it). */
  async detachDrive(serial: string): Promise<void> {
    for (const [port, s] of this.#plugged)
      if (s === serial) {
        await hotRemoveDrive(this.vm, port);
        this.#plugged.delete(port);
      }
  }

  async #detachDrives(): Promise<void> {
    for (const port of [...this.#plugged.keys()].reverse()) {
      await hotRemoveDrive(this.vm, port);
      this.#plugged.delete(port);
    }
  }

  /**
   * Makes the root disk alone hold every write the guest made, as a reader that does not replay
   * the journal sees it: `sync` commits ext4's journal but leaves the newest metadata only there
   * until a checkpoint, which a freeze forces. Freeze and thaw are one command, so the guest
   * never stays frozen. BSD guests get `sync` (FFS/UFS write metadata in place), Windows
   * guests nothing (see the README).
   */
  async quiesce(): Promise<void> {
    if (this.os === "windows") return;
    const script =
      this.os === "linux" ? "sync && fsfreeze --freeze / && fsfreeze --unfreeze /" : "sync";
    // A guest whose disk is stuck never answers: fail the step rather than wait forever.
    const r = await this.runAsRoot(script, AbortSignal.timeout(QUIESCE_TIMEOUT_MS)).catch(
      (err: unknown) => {
        throw new GuestQuiesceError(null, `no answer within ${QUIESCE_TIMEOUT_MS / 1000} s`, {
          cause: err,
        });
      },
    );
    if (r.exitCode !== 0) throw new GuestQuiesceError(r.exitCode, r.stderr);
  }

  /**
   * Runs one of strata's own short scripts as root in a POSIX guest, through the guest's root
   * shell (one `sudo` per connection instead of one per script, see {@link RootShell}); resolves
   * with its exit status and output. No stdin: scripts that stream data use `ssh.exec`.
   */
  runAsRoot(script: string, signal?: AbortSignal): Promise<RootResult> {
    if (!this.#root?.alive) this.#root = new RootShell(this.ssh);
    return this.#root.run(script, signal);
  }

  /**
   * Flushes the guest's disks and powers it off: the layer's image is complete only after this.
   * Throws if the guest did not stop by itself, since its disk may then be inconsistent.
   */
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      // Best effort: a clean power-off checkpoints the journal anyway.
      await this.quiesce().catch(() => {});
      await this.ssh.close().catch(() => {});
      const result = await this.vm.shutdown({ timeoutMs: this.shutdownTimeoutMs });
      if (!result.graceful) throw new GuestShutdownError(this.shutdownTimeoutMs);
    } finally {
      await this.#cleanup();
    }
  }

  /**
   * Ends a step but keeps the VM for the next one: quiesces the root file system, unplugs the
   * step's disks and pauses the guest, so the disk stays exactly as the step left it. Disposing
   * this guest then does nothing until {@link unpark}: whoever parked it owns it.
   */
  async park(): Promise<void> {
    await this.quiesce();
    await this.#detachDrives();
    await pauseVm(this.vm);
    this.#parked = true;
  }

  /** Takes a parked guest back: disposing it stops it again. */
  unpark(): void {
    this.#parked = false;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#stopped || this.#parked) return;
    this.#stopped = true;
    // QEMU first: a paused guest never answers the SSH goodbye, so closing the connection
    // first would wait forever; once QEMU is gone the connection drops.
    await this.vm.kill().catch(() => {});
    await this.ssh.close().catch(() => {});
    await this.vm[Symbol.asyncDispose]().catch(() => {});
    await this.#cleanup();
  }
}

/**
 * Starts QEMU on `image` and waits until SSH answers (the console tail explains a timeout), or
 * resumes a saved state and then sets the guest's clock and reseeds its entropy, since the
 * guest slept through the time between save and resume. Then plugs in `drives`.
 */
export async function bootGuest(o: BootGuestOptions): Promise<Guest> {
  assertSshAccess(o.manifest);
  const vm = await startVm({
    image: o.image,
    manifest: o.manifest,
    memoryMiB: o.memoryMiB,
    cpus: o.cpus,
    accel: o.accel ?? "auto",
    network: o.network,
    extraArgs: [...hotplugPortArgs(), ...(o.resumeFrom ? INCOMING_ARGS : [])],
    signal: o.signal,
    onEvent: o.onEvent,
  });
  try {
    if (o.resumeFrom) await resumeVmState(vm, o.resumeFrom);
    o.onWaitingForSsh?.();
    const ssh = await waitForSsh({
      port: vm.sshPort,
      username: o.manifest.ssh.user,
      privateKey: { path: o.privateKeyPath },
      hostKey: o.manifest.ssh.hostKey,
      dialect: o.manifest.os === "windows" ? "cmd" : "posix",
      shell: o.manifest.shell,
      timeoutMs: o.bootTimeoutMs ?? DEFAULT_GUEST_BOOT_TIMEOUT_MS,
      diagnostics: () => vm.consoleTail(),
      signal: o.signal,
    });
    const guest = new Guest(
      vm,
      ssh,
      o.manifest.os,
      o.shutdownTimeoutMs ?? DEFAULT_GUEST_SHUTDOWN_TIMEOUT_MS,
    );
    try {
      if (o.resumeFrom && o.manifest.os !== "windows") {
        // Through the guest's root shell, which the step's own root scripts then reuse (one
        // `sudo` instead of two); the seed as printf's octal escapes, so nothing is spawned.
        const now = (Date.now() / 1000).toFixed(3);
        const seed = [...randomBytes(512)].map((b) => `\\${b.toString(8)}`).join("");
        const script = `date -u -s @${now} >/dev/null && printf '${seed}' >/dev/urandom`;
        const r = await guest.runAsRoot(script);
        if (r.exitCode !== 0)
          throw new SshCommandError(
            "setting the clock and reseeding entropy",
            r.exitCode,
            undefined,
            r.stderr,
          );
      }
      await guest.attachDrives(o.drives ?? []);
      return guest;
    } catch (err) {
      await guest[Symbol.asyncDispose]();
      throw err;
    }
  } catch (err) {
    await vm.kill().catch(() => {});
    await vm[Symbol.asyncDispose]().catch(() => {});
    throw err;
  }
}

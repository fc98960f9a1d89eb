import type { Accelerator, DriveSpec, ImageManifest, Vm, VmEvent } from "@strata/qemu-runner";
import { startVm } from "@strata/qemu-runner";
import { type SshSession, waitForSsh } from "@strata/ssh-transport";

/** How every VM of a build is started; fixed for the whole build. */
export interface MachineOptions {
  /** @default the manifest's */
  memoryMiB?: number | undefined;
  /** @default the manifest's */
  cpus?: number | undefined;
  /** @default "auto" */
  accel?: Accelerator | "auto" | undefined;
  /** Time from QEMU's start to a working SSH connection. @default DEFAULT_BOOT_TIMEOUT_MS */
  bootTimeoutMs?: number | undefined;
  /** Time the guest gets to power off after ACPI power-down. @default 60 s */
  shutdownTimeoutMs?: number | undefined;
}

export interface BootGuestOptions extends MachineOptions {
  image: string;
  manifest: ImageManifest;
  /** The private key to log in with (the manifest's, else the store's). */
  privateKeyPath: string;
  network: "host" | "restricted";
  drives?: DriveSpec[] | undefined;
  signal?: AbortSignal | undefined;
  onEvent?: ((event: VmEvent) => void) | undefined;
}

export const DEFAULT_GUEST_BOOT_TIMEOUT_MS = 300_000;
export const DEFAULT_GUEST_SHUTDOWN_TIMEOUT_MS = 60_000;

/** A booted guest with one SSH connection. Disposing powers it off (or kills it). */
export class Guest implements AsyncDisposable {
  #stopped = false;
  readonly #cleanups: (() => Promise<void>)[] = [];
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

  /**
   * Flushes the guest's disks and powers it off: the layer's image is complete only after this.
   * Throws if the guest did not stop by itself, since its disk may then be inconsistent.
   */
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.os !== "windows")
      await this.ssh.exec("sync", { user: { uid: 0, gid: 0 } }).catch(() => {});
    await this.ssh.close().catch(() => {});
    const result = await this.vm
      .shutdown({ timeoutMs: this.shutdownTimeoutMs })
      .finally(() => this.#cleanup());
    if (!result.graceful)
      throw new Error(
        `the guest did not power off within ${Math.round(this.shutdownTimeoutMs / 1000)} s after ACPI power-down`,
      );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.ssh.close().catch(() => {});
    await this.vm.kill().catch(() => {});
    await this.#cleanup();
  }
}

/** Starts QEMU on `image` and waits until SSH answers; the console tail explains a timeout. */
export async function bootGuest(o: BootGuestOptions): Promise<Guest> {
  const vm = await startVm({
    image: o.image,
    manifest: o.manifest,
    memoryMiB: o.memoryMiB,
    cpus: o.cpus,
    accel: o.accel ?? "auto",
    drives: o.drives ?? [],
    network: o.network,
    signal: o.signal,
    onEvent: o.onEvent,
  });
  try {
    const ssh = await waitForSsh({
      port: vm.sshPort,
      username: o.manifest.ssh.user,
      privateKey: { path: o.privateKeyPath },
      dialect: o.manifest.os === "windows" ? "cmd" : "posix",
      shell: o.manifest.shell,
      timeoutMs: o.bootTimeoutMs ?? DEFAULT_GUEST_BOOT_TIMEOUT_MS,
      diagnostics: () => vm.consoleTail(),
      signal: o.signal,
    });
    return new Guest(
      vm,
      ssh,
      o.manifest.os,
      o.shutdownTimeoutMs ?? DEFAULT_GUEST_SHUTDOWN_TIMEOUT_MS,
    );
  } catch (err) {
    await vm.kill().catch(() => {});
    throw err;
  }
}

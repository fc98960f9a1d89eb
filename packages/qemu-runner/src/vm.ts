import { rm } from "node:fs/promises";
import { MAX_TAIL_BYTES } from "@strata/host-tool";
import createDebug from "debug";
import type { Accelerator } from "./argv.js";
import { readFileTail } from "./console-log.js";
import { QemuBootTimeoutError, QemuCancelledError, QemuExitedError } from "./errors.js";
import type { ImageManifest } from "./manifest.js";
import type { QmpClient } from "./qmp.js";

const debug = createDebug("strata:qemu");

/** @default 60_000: time for the guest OS to power off after ACPI power-down. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 60_000;
/** Time QEMU gets to exit after `quit` or SIGTERM before SIGKILL. */
const QUIT_TIMEOUT_MS = 5_000;

/** How the QEMU process ended. */
export interface VmExit {
  exitCode: number | undefined;
  signal: string | undefined;
}

export interface ShutdownOptions {
  /** Time for the guest to power off after ACPI power-down. @default DEFAULT_SHUTDOWN_TIMEOUT_MS */
  timeoutMs?: number;
}

export interface WaitUntilReadyOptions {
  /** Give up after this long with a QemuBootTimeoutError carrying the console tail. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface ShutdownResult extends VmExit {
  /** True when the guest powered off by itself (SHUTDOWN event) after ACPI power-down. */
  graceful: boolean;
}

/** What `startVm` hands to the Vm it built. @internal */
interface VmParts {
  pid: number;
  processExit: Promise<VmExit>;
  killProcess: () => void;
  argv: readonly string[];
  accel: Accelerator;
  manifest: ImageManifest;
  qmp: QmpClient;
  sshPort: number;
  serialLogPath: string;
  pidFilePath: string;
  runDir: string;
  removeRunDir: boolean;
  stderrTail: () => string;
  untrack: () => void;
}

const sleep = (ms: number) => new Promise<"timeout">((r) => setTimeout(r, ms, "timeout").unref());

/** One running QEMU process. Dispose it (`await using`) to make sure it is gone. */
export class Vm implements AsyncDisposable {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly accel: Accelerator;
  readonly manifest: ImageManifest;
  readonly qmp: QmpClient;
  /** The host port on 127.0.0.1 forwarded to the guest's SSH port. */
  readonly sshPort: number;
  readonly serialLogPath: string;
  readonly pidFilePath: string;
  readonly runDir: string;
  /** Resolves when QEMU has exited, however that happened. Never rejects. */
  readonly exited: Promise<VmExit>;
  /** Aborts when QEMU exits; its reason is a QemuExitedError with the console tail. */
  readonly signal: AbortSignal;
  #parts: VmParts;
  #exit: VmExit | undefined;
  #stopping = false;
  #disposed: Promise<void> | undefined;

  constructor(parts: VmParts) {
    this.#parts = parts;
    this.pid = parts.pid;
    this.argv = parts.argv;
    this.accel = parts.accel;
    this.manifest = parts.manifest;
    this.qmp = parts.qmp;
    this.sshPort = parts.sshPort;
    this.serialLogPath = parts.serialLogPath;
    this.pidFilePath = parts.pidFilePath;
    this.runDir = parts.runDir;
    const controller = new AbortController();
    this.signal = controller.signal;
    // `exited` settles only after `signal` has aborted, so both agree once it resolves.
    this.exited = parts.processExit.then(async (exit) => {
      this.#exit = exit;
      parts.untrack();
      debug("exited", this.pid, exit);
      const consoleTail = await this.consoleTail();
      controller.abort(
        new QemuExitedError({
          argv: this.argv,
          ...exit,
          consoleTail,
          stderrTail: parts.stderrTail(),
        }),
      );
      return exit;
    });
  }

  /** Whether the QEMU process is still running. */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /** The last `bytes` of the serial console, without terminal escapes. */
  consoleTail(bytes = MAX_TAIL_BYTES): Promise<string> {
    return readFileTail(this.serialLogPath, bytes);
  }

  /**
   * Runs `ready` (e.g. a wait for SSH) with a signal that aborts when QEMU exits, the timeout
   * passes or `opts.signal` aborts. Rejects with QemuExitedError (QEMU died during boot) or
   * QemuBootTimeoutError, both with the console tail, instead of `ready`'s own error.
   */
  async waitUntilReady<T>(
    ready: (signal: AbortSignal) => Promise<T>,
    opts: WaitUntilReadyOptions,
  ): Promise<T> {
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signals = [this.signal, timeout, ...(opts.signal ? [opts.signal] : [])];
    const combined = AbortSignal.any(signals);
    try {
      return await ready(combined);
    } catch (e) {
      if (this.signal.aborted) throw this.signal.reason;
      if (opts.signal?.aborted) throw new QemuCancelledError("Waiting for the guest", { cause: e });
      if (timeout.aborted)
        throw new QemuBootTimeoutError(opts.timeoutMs, await this.consoleTail(), { cause: e });
      throw e;
    }
  }

  /**
   * ACPI power-down, wait for the guest's SHUTDOWN event, then `quit`, then SIGKILL, each step
   * bounded by a timeout. Resolves once QEMU has exited.
   */
  async shutdown(opts: ShutdownOptions = {}): Promise<ShutdownResult> {
    if (this.#exit) return { ...this.#exit, graceful: false };
    this.#stopping = true;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    let graceful = false;
    try {
      const event = this.qmp.waitForEvent("SHUTDOWN", { timeoutMs });
      event.catch(() => {});
      await this.qmp.execute("system_powerdown");
      const e = await event;
      graceful = e.data?.guest === true;
      debug("SHUTDOWN", this.pid, e.data);
    } catch (e) {
      debug("power-down failed", this.pid, (e as Error).message);
    }
    return { ...(await this.#stop()), graceful };
  }

  /** `quit` through QMP, then SIGKILL if QEMU has not exited in time. */
  async #stop(): Promise<VmExit> {
    if (this.#exit) return this.#exit;
    this.#stopping = true;
    this.qmp.execute("quit", undefined, { timeoutMs: QUIT_TIMEOUT_MS }).catch(() => {});
    if ((await Promise.race([this.exited, sleep(QUIT_TIMEOUT_MS)])) === "timeout")
      return this.kill();
    return this.exited;
  }

  /** SIGKILL, at once. Resolves once QEMU has exited. */
  async kill(): Promise<VmExit> {
    this.#stopping = true;
    if (!this.#exit) this.#parts.killProcess();
    return this.exited;
  }

  /** Stops QEMU (quit, then SIGKILL) and removes the run directory it created. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed ??= (async () => {
      await this.#stop();
      await this.qmp.close().catch(() => {});
      if (this.#parts.removeRunDir) await rm(this.runDir, { recursive: true, force: true });
    })();
    return this.#disposed;
  }

  /** Whether `shutdown`, `kill` or disposal was asked for (an exit is then expected). */
  get stopping(): boolean {
    return this.#stopping;
  }
}

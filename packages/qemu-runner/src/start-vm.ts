import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { boundTail, withParentDeath } from "@strata/host-tool";
import createDebug from "debug";
// execa is loaded on first use: it costs ~130 ms, and a fully cached build runs no process.
import { chooseAccelerator } from "./accel.js";
import {
  type Accelerator,
  buildQemuArgv,
  type DriveSpec,
  type GuestForward,
  type NetworkMode,
} from "./argv.js";
import { backingChainDepth, KEEP_CACHE_MAX_DEPTH } from "./backing-chain.js";
import { readFileTail } from "./console-log.js";
import { QemuCancelledError, QemuPortInUseError, QemuStartError } from "./errors.js";
import { type HostNetwork, openHostNetwork } from "./host-network.js";
import { type ImageManifest, loadImageManifest } from "./manifest.js";
import { findFreePort, isHostForwardFailure } from "./ports.js";
import { listenQmp } from "./qmp.js";
import { trackProcess } from "./registry.js";
import { OWNER_PID_FILE, RUN_DIR_PREFIX } from "./stale.js";
import { validateStartVmOptions } from "./validate.js";
import { Vm } from "./vm.js";

const debug = createDebug("strata:qemu");

/** Time from spawning QEMU to its QMP monitor answering. @default 30_000 */
export const DEFAULT_START_TIMEOUT_MS = 30_000;
/** Fresh ports tried when another process takes the chosen one first. @default 5 */
const DEFAULT_PORT_ATTEMPTS = 5;

/** A progress or warning event; libraries never print, callers decide. */
export type VmEvent =
  | { type: "warning"; code: "ACCEL_FALLBACK"; message: string }
  | { type: "retry"; code: "QEMU_PORT_IN_USE"; port: number; attempt: number }
  | { type: "started"; pid: number; sshPort: number; accel: Accelerator; argv: readonly string[] };

export interface StartVmOptions {
  /** The root disk (an absolute or relative path to a qcow2 file, written in place). */
  image: string;
  /** @default "qcow2" */
  imageFormat?: "qcow2" | "raw";
  /** How to boot the image. @default the manifest beside `image`, else OBuilder's defaults */
  manifest?: ImageManifest;
  /** @default manifest.memoryMiB */
  memoryMiB?: number;
  /** @default manifest.cpus */
  cpus?: number;
  /** QEMU machine type. @default "q35" on x86_64, "virt" elsewhere */
  machine?: string;
  /** @default "auto": KVM only if the probe shows it works, else TCG with a warning */
  accel?: Accelerator | "auto";
  /** More disks after the root disk. @default [] */
  drives?: DriveSpec[];
  /** ISO images attached as CD-ROMs. @default [] */
  cdroms?: string[];
  /** Boot the first CD before the disk (x86_64). @default false */
  bootFromCdrom?: boolean;
  /** Firmware image instead of the distribution's OVMF / QEMU_EFI / U-Boot. */
  firmwarePath?: string;
  /** "host" lets the guest reach the network; "restricted" only allows the SSH forward. @default "restricted" */
  network?: NetworkMode;
  /** Guest addresses answered by the host, e.g. a metadata service; slirp only takes addresses inside its 10.0.2.0/24. @default [] */
  guestForwards?: GuestForward[];
  /** Guest network card model. @default "virtio-net-pci" */
  nicModel?: string;
  /** A fixed host port for SSH instead of a free one picked (and retried) automatically. */
  sshPort?: number;
  /** VNC display on 127.0.0.1 for debugging installs: `true` picks a free one. @default false */
  vnc?: boolean | number;
  /** Directory for the QMP socket, pid file and (by default) the console log. @default a new temp dir, removed on dispose */
  runDir?: string;
  /** @default `<runDir>/console.log` */
  serialLogPath?: string;
  /** @default DEFAULT_START_TIMEOUT_MS */
  startTimeoutMs?: number;
  /** @default DEFAULT_PORT_ATTEMPTS */
  portAttempts?: number;
  /** Where the KVM probe's answer is remembered. @default $XDG_CACHE_HOME/strata */
  cacheDir?: string;
  /** Arguments appended to QEMU's command line. @default [] */
  extraArgs?: string[];
  /** Aborting stops the start, or kills the VM once started. */
  signal?: AbortSignal;
  onEvent?: (event: VmEvent) => void;
}

/** Starts QEMU and returns once its QMP monitor answers; the guest is then booting. */
export async function startVm(options: StartVmOptions): Promise<Vm> {
  validateStartVmOptions(options);
  options.signal?.throwIfAborted();
  const image = resolve(options.image);
  const manifest = options.manifest ?? (await loadImageManifest(image));
  const emit = options.onEvent ?? (() => {});
  const { accel } = await chooseAccelerator(options.accel ?? "auto", {
    arch: manifest.arch,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    onWarning: (message) => emit({ type: "warning", code: "ACCEL_FALLBACK", message }),
  });
  const backingDepth =
    (options.imageFormat ?? "qcow2") === "qcow2"
      ? await backingChainDepth(image, KEEP_CACHE_MAX_DEPTH)
      : 0;
  const removeRunDir = options.runDir === undefined;
  const runDir = options.runDir ?? (await mkdtemp(join(tmpdir(), RUN_DIR_PREFIX)));
  await mkdir(runDir, { recursive: true });
  // With QEMU's -pidfile, lets reapStaleVms find VMs whose owner was SIGKILLed.
  await writeFile(join(runDir, OWNER_PID_FILE), `${process.pid}\n`);
  const attempts = options.sshPort ? 1 : (options.portAttempts ?? DEFAULT_PORT_ATTEMPTS);
  try {
    for (let attempt = 1; ; attempt++) {
      const port = options.sshPort ?? (await findFreePort());
      try {
        return await launch(options, {
          image,
          backingDepth,
          manifest,
          accel,
          runDir,
          removeRunDir,
          port,
          attempt,
        });
      } catch (e) {
        if (!(e instanceof QemuPortInUseError) || attempt >= attempts) throw e;
        emit({ type: "retry", code: "QEMU_PORT_IN_USE", port, attempt });
      }
    }
  } catch (e) {
    if (removeRunDir) await rm(runDir, { recursive: true, force: true });
    throw e;
  }
}

interface Resolved {
  image: string;
  backingDepth: number;
  manifest: ImageManifest;
  accel: Accelerator;
  runDir: string;
  removeRunDir: boolean;
  port: number;
  attempt: number;
}

async function launch(options: StartVmOptions, r: Resolved): Promise<Vm> {
  const qmpSocketPath = join(r.runDir, "qmp.sock");
  const pidFilePath = join(r.runDir, "qemu.pid");
  const serialLogPath = options.serialLogPath ?? join(r.runDir, "console.log");
  const vnc = options.vnc === true ? (await findFreePort()) - 5900 : options.vnc || undefined;
  const m = r.manifest;
  const argv = buildQemuArgv({
    arch: m.arch,
    accel: r.accel,
    machine: options.machine,
    memoryMiB: options.memoryMiB ?? m.memoryMiB,
    cpus: options.cpus ?? m.cpus,
    disk: {
      path: r.image,
      format: options.imageFormat ?? "qcow2",
      interface: m.disk.interface,
      backingDepth: r.backingDepth,
    },
    drives: (options.drives ?? []).map((d) => ({ ...d, path: resolve(d.path) })),
    cdroms: (options.cdroms ?? []).map((p) => resolve(p)),
    bootFromCdrom: options.bootFromCdrom ?? false,
    boot: m.boot,
    firmware: m.firmware,
    firmwarePath: options.firmwarePath,
    hostSshPort: r.port,
    guestSshPort: m.ssh.port,
    network: options.network ?? "restricted",
    guestForwards: options.guestForwards ?? [],
    nicModel: options.nicModel,
    hardware: m.machine,
    serialLogPath: isAbsolute(serialLogPath) ? serialLogPath : resolve(serialLogPath),
    qmpSocketPath,
    pidFilePath,
    vncDisplay: vnc !== undefined && vnc >= 0 ? vnc : undefined,
    name: m.name,
    extraArgs: options.extraArgs ?? [],
  });
  await rm(qmpSocketPath, { force: true });
  // A `host` network runs QEMU in its own network namespace (see openHostNetwork).
  const net: HostNetwork | undefined =
    options.network === "host" ? await openHostNetwork(r.port, r.runDir, r.attempt) : undefined;
  let listener: Awaited<ReturnType<typeof listenQmp>>;
  try {
    listener = await listenQmp(qmpSocketPath);
  } catch (err) {
    await net?.close();
    throw err;
  }
  const spawnArgv = net ? net.wrap(argv) : argv;
  debug("spawn", spawnArgv.join(" "));
  // QEMU's own process is the one host program not run through @strata/host-tool: it lives as
  // long as the VM (QMP, console, pause and resume, its death watched), not until it exits, so
  // its lifecycle is this file's. execa is loaded on first use.
  const { execa } = await import("execa");
  // Behind setpriv --pdeathsig: QEMU dies with us even when we are SIGKILLed (the flag survives
  // nsenter's exec into a host network's namespace).
  const [command, args] = withParentDeath(spawnArgv);
  const subprocess = execa(command, args, {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    buffer: false,
    reject: false,
    // Our registry kills QEMU on exit/signals; execa's own hook would stop signals re-raising.
    cleanup: false,
  });
  let stderr = "";
  subprocess.stderr.setEncoding("utf8");
  subprocess.stderr.on("data", (chunk: string) => {
    debug("stderr", chunk);
    stderr = boundTail(stderr + chunk, 16_384);
  });
  const untrack = subprocess.pid ? trackProcess(subprocess.pid, argv.join(" ")) : () => {};
  const starting = new AbortController();
  const onAbort = () => starting.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let exitedFirst = false;
  const exitedEarly = subprocess.then(async (result) => {
    exitedFirst = true;
    starting.abort(new Error("exited"));
    await net?.close();
    return result;
  });
  try {
    const qmp = await listener.accept({
      signal: starting.signal,
      timeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    });
    // The answer comes from the main loop: every backend, hostfwd included, is set up by now.
    await qmp.execute("query-status", undefined, { signal: starting.signal });
    const vm = new Vm({
      pid: subprocess.pid ?? -1,
      processExit: exitedEarly.then((res) => ({ exitCode: res.exitCode, signal: res.signal })),
      killProcess: () => subprocess.kill("SIGKILL"),
      argv,
      accel: r.accel,
      manifest: m,
      qmp,
      sshPort: r.port,
      serialLogPath,
      pidFilePath,
      runDir: r.runDir,
      removeRunDir: r.removeRunDir,
      stderrTail: () => stderr,
      untrack,
    });
    if (options.signal) {
      const kill = () => void vm.kill();
      options.signal.addEventListener("abort", kill, { once: true });
      vm.exited.then(() => options.signal?.removeEventListener("abort", kill));
    }
    options.onEvent?.({ type: "started", pid: vm.pid, sshPort: r.port, accel: r.accel, argv });
    return vm;
  } catch (cause) {
    listener.close();
    subprocess.kill("SIGKILL");
    const result = await exitedEarly;
    untrack();
    if (options.signal?.aborted) throw new QemuCancelledError("Starting QEMU", { cause });
    if (isHostForwardFailure(stderr)) throw new QemuPortInUseError(r.port, r.attempt, { cause });
    const timedOut = !exitedFirst;
    const consoleTail = await readFileTail(serialLogPath);
    throw new QemuStartError(
      {
        argv,
        exitCode: result.exitCode,
        signal: result.signal,
        stderrTail: stderr || (result.failed && !result.exitCode ? result.shortMessage : ""),
        consoleTail,
        timedOut,
      },
      { cause },
    );
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}

import {
  access,
  constants,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  writeFile,
} from "node:fs/promises";
import { homedir, hostname, release, tmpdir } from "node:os";
import { join } from "node:path";
import { HostToolError, HostToolMissingError, runHostTool } from "@strata/host-tool";
import createDebug from "debug";
import type { Accelerator } from "./argv.js";
import { QemuOptionsError, QemuStartError } from "./errors.js";
import type { GuestArch } from "./manifest.js";

const debug = createDebug("strata:qemu");

/** How long the KVM probe guest gets to report; a working KVM answers in ~0.1 s. */
const DEFAULT_PROBE_TIMEOUT_MS = 3000;

/**
 * The probe guest, a 64 KiB x86 BIOS image: from the reset vector it enters protected mode, builds
 * identity page tables, enters long mode and writes 0x2a to isa-debug-exit (QEMU exits with
 * status 0x2a*2+1 = 85). A real-mode-only probe is not enough: on nested hosts without VMX
 * (e.g. Firecracker) KVM runs real mode, then hangs at the switch to long mode.
 * Assembled with GNU as from: cli; xor ax,ax; mov ds,ax; lgdt cs:gdt; cr0|=PE; ljmp 8:pm32;
 * [32-bit] load data segs, PML4@0x1000->PDPT@0x2000->PD@0x3000 (2 MiB page), cr3, PAE, EFER.LME,
 * PG, ljmp 0x18:lm64; [64-bit] mov al,0x2a; out 0xf4,al; hlt. Reset vector: ljmp f000:0000.
 */
const PROBE_CODE =
  "fa31c08ed82e660f0116a0000f20c06683c8010f22c066ea1e000f00080066b810008ed88ec08ed0c7050010000003" +
  "200000c7050020000003300000c7050030000083000000b8001000000f22d80f20e083c8200f22e0b9800000c00f32" +
  "0d000100000f300f20c00d000000800f22c0ea77000f001800b02ae6f4f4ebfd66900000000000000000ffff000000" +
  "9acf00ffff00000092cf00ffff0000009aaf001f0080000f";
const PROBE_RESET_VECTOR = "ea000000f0";
const PROBE_EXIT_CODE = 85;

/** The probe's BIOS image. */
export function probeBiosImage(): Buffer {
  // Zero fill, as assembled: the GDT descriptor's last byte is one of those zeros.
  const image = Buffer.alloc(0x10000);
  Buffer.from(PROBE_CODE, "hex").copy(image, 0);
  Buffer.from(PROBE_RESET_VECTOR, "hex").copy(image, 0xfff0);
  return image;
}

interface ProbeOptions {
  /** @default DEFAULT_PROBE_TIMEOUT_MS */
  timeoutMs?: number;
  /** @default "qemu-system-x86_64" */
  qemuBinary?: string;
  signal?: AbortSignal;
}

interface ProbeResult {
  works: boolean;
  elapsedMs: number;
  /** Why it failed: timed out, no /dev/kvm, QEMU's message. */
  reason?: string;
}

/** Boots the probe guest under `accel`; `works` only if it reached long mode within the timeout. */
export async function probeAccelerator(
  accel: Accelerator,
  opts: ProbeOptions = {},
): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  if (accel === "kvm") {
    try {
      await access("/dev/kvm", constants.R_OK | constants.W_OK);
    } catch {
      return {
        works: false,
        elapsedMs: elapsed(),
        reason: "/dev/kvm is missing or not accessible",
      };
    }
  }
  const dir = await mkdtemp(join(tmpdir(), "strata-probe-"));
  try {
    const bios = join(dir, "probe.bin");
    await writeFile(bios, probeBiosImage());
    const args = [
      "-accel",
      accel,
      "-machine",
      "pc",
      "-nodefaults",
      "-no-user-config",
      "-display",
      "none",
    ];
    args.push("-m", "16", "-bios", bios, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04");
    // A short run of QEMU, not a VM: the host-tool runner's timeout and cancellation fit it.
    const ended = await runHostTool(opts.qemuBinary ?? "qemu-system-x86_64", args, {
      timeoutMs: opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
      signal: opts.signal,
    }).then(
      () => undefined,
      (e: unknown) => {
        if (e instanceof HostToolError || e instanceof HostToolMissingError) return e;
        throw e;
      },
    );
    const works = ended instanceof HostToolError && ended.exitCode === PROBE_EXIT_CODE;
    const reason = works
      ? undefined
      : ended === undefined
        ? "QEMU exited with 0"
        : ended instanceof HostToolMissingError
          ? ended.message
          : ended.timedOut
            ? `the probe guest did not finish within ${opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS} ms`
            : ended.tail.trim().split("\n").pop() ||
              `QEMU exited with ${ended.exitCode ?? ended.signal}`;
    debug("probe", accel, { works, reason, ms: elapsed() });
    return { works, elapsedMs: elapsed(), ...(reason ? { reason } : {}) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The directory for per-host cached facts: `$XDG_CACHE_HOME/strata` or `~/.cache/strata`. */
function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "strata");
}

/** The key a probe answer is stored under: it stays valid for one host, kernel and QEMU. */
export async function hostAccelKey(qemuBinary = "qemu-system-x86_64"): Promise<string> {
  let stdout: string;
  try {
    stdout = await runHostTool(qemuBinary, ["--version"]);
  } catch (error) {
    if (!(error instanceof HostToolError || error instanceof HostToolMissingError)) throw error;
    throw new QemuStartError(
      {
        argv: [qemuBinary, "--version"],
        exitCode: error instanceof HostToolError ? error.exitCode : undefined,
        stderrTail: error instanceof HostToolError ? error.tail : error.message,
      },
      { cause: error },
    );
  }
  const version = /version (\S+)/.exec(stdout)?.[1] ?? stdout.split("\n")[0];
  return `${hostname()}|${release()}|qemu-${version}`;
}

interface CachedProbe {
  kvm: boolean;
  probedAt: string;
  elapsedMs: number;
  reason?: string;
}

/** The guest architecture this host's CPU is, the only one KVM can run; undefined for others. */
export function hostGuestArch(nodeArch: string = process.arch): GuestArch | undefined {
  const arches: Record<string, GuestArch> = { x64: "x86_64", arm64: "aarch64", riscv64: "riscv64" };
  return arches[nodeArch];
}

export interface ChooseAcceleratorOptions extends ProbeOptions {
  /**
   * The guest's architecture: one other than the host's always runs under TCG (no probe), and
   * `kvm` for it is refused. @default the host's
   */
  arch?: GuestArch;
  /** @default defaultCacheDir() */
  cacheDir?: string;
  /** Called once with a one-line warning when `auto` falls back to TCG. */
  onWarning?: (message: string) => void;
}

export interface AcceleratorChoice {
  accel: Accelerator;
  /** Whether the answer came from the cache file rather than a fresh probe. */
  cached: boolean;
  probe?: CachedProbe;
}

/**
 * `kvm` and `tcg` are taken as given; `auto` is KVM only when the probe proves it runs a guest,
 * the answer remembered in `<cacheDir>/accel.json` per host key.
 */
export async function chooseAccelerator(
  requested: Accelerator | "auto",
  opts: ChooseAcceleratorOptions = {},
): Promise<AcceleratorChoice> {
  const host = hostGuestArch();
  if (opts.arch !== undefined && opts.arch !== host) {
    if (requested === "kvm")
      throw new QemuOptionsError([
        `accel: KVM runs only guests of the host's architecture (${host ?? process.arch}), not ${opts.arch}; use tcg or auto`,
      ]);
    return { accel: "tcg", cached: false };
  }
  if (requested !== "auto") return { accel: requested, cached: false };
  const file = join(opts.cacheDir ?? defaultCacheDir(), "accel.json");
  const key = await hostAccelKey(opts.qemuBinary);
  let cache: Record<string, CachedProbe> = {};
  try {
    cache = JSON.parse(await readFile(file, "utf8")) as Record<string, CachedProbe>;
  } catch {
    // Missing or corrupt: probe again and rewrite it.
  }
  let probe = cache[key];
  const cached = probe !== undefined;
  if (!probe) {
    const result = await probeAccelerator("kvm", opts);
    probe = { kvm: result.works, probedAt: new Date().toISOString(), elapsedMs: result.elapsedMs };
    if (result.reason) probe.reason = result.reason;
    cache[key] = probe;
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      await mkdir(join(file, ".."), { recursive: true });
      await writeFile(tmp, `${JSON.stringify(cache, null, 2)}\n`);
      await rename(tmp, file);
    } catch (err) {
      // Only a memo: a cache directory this user may not write costs a probe per run, no more.
      await rm(tmp, { force: true }).catch(() => {});
      opts.onWarning?.(
        `could not remember the accelerator probe in ${file} (${(err as Error).message}); it runs again next time`,
      );
    }
  }
  if (!probe.kvm) {
    opts.onWarning?.(
      `KVM is not usable here (${probe.reason ?? "probe failed"}); using TCG, which is much slower.`,
    );
  }
  return { accel: probe.kvm ? "kvm" : "tcg", cached, probe };
}

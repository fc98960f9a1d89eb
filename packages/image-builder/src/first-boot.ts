import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ImageManifest, type NetworkMode, startVm } from "@strata/qemu-runner";
import { noCloudUrlCmdline } from "./cloud-init.js";
import { FirstBootError, ImageInputError } from "./errors.js";
import { METADATA_URL, startMetadataService } from "./metadata-service.js";
import { type NoCloudSeed, writeSeedIso } from "./nocloud-seed.js";
import type { ImageProgressListener } from "./progress.js";

/** cloud-init installing packages under TCG takes long. @default 1_800_000 (30 min) */
export const DEFAULT_FIRST_BOOT_TIMEOUT_MS = 1_800_000;
/** After phone_home, time the guest gets to power itself off before ACPI power-down. @default 120_000 */
const DEFAULT_POWER_OFF_GRACE_MS = 120_000;

export interface RunFirstBootOptions {
  /** The disk, changed in place (boot an overlay to keep its backing image). */
  image: string;
  /** How to boot it; kernel-mode images get `cloud-init=enabled` (and the seed URL) appended. */
  manifest: ImageManifest;
  /**
   * The NoCloud seed. In metadata mode a function gets the URL (with this boot's token) that
   * `phone_home` must post to; ISO mode needs a plain seed.
   */
  seed: NoCloudSeed | ((phoneHomeUrl: string) => NoCloudSeed);
  /**
   * "iso": a NoCloud seed ISO; done when the guest powers off (user-data's power_state).
   * "metadata": served by the metadata service (METADATA_URL); done when the guest phones home.
   */
  via: "iso" | "metadata";
  /** @default "restricted" (the metadata service works with it; packages need "host") */
  network?: NetworkMode;
  /** @default DEFAULT_FIRST_BOOT_TIMEOUT_MS */
  timeoutMs?: number;
  /** @default DEFAULT_POWER_OFF_GRACE_MS */
  powerOffGraceMs?: number;
  /** Where QEMU's KVM probe answer is cached (see startVm). */
  cacheDir?: string;
  onProgress?: ImageProgressListener;
  signal?: AbortSignal;
}

export interface FirstBootResult {
  /** What cloud-init posted (metadata mode). */
  phoneHome?: Record<string, string>;
  /** True when the guest powered off by itself. */
  poweredOff: boolean;
  durationMs: number;
}

/**
 * The manifest with the words a first boot needs on a kernel-mode command line: cloud-init on,
 * the seed URL (metadata mode), and, unless the seed brings a network config, cloud-init's own
 * network config off: its DHCP fallback would otherwise be written over the image's network
 * setup (the Debian image's static address) and slow every later boot.
 */
export function firstBootManifest(
  manifest: ImageManifest,
  via: "iso" | "metadata",
  seed?: NoCloudSeed,
): ImageManifest {
  if (manifest.boot.mode !== "kernel") return manifest;
  const words = [
    "cloud-init=enabled",
    ...(via === "metadata" ? [noCloudUrlCmdline(METADATA_URL)] : []),
    ...(seed?.networkConfig === undefined ? ["network-config=disabled"] : []),
  ];
  return {
    ...manifest,
    boot: { ...manifest.boot, cmdline: `${manifest.boot.cmdline} ${words.join(" ")}` },
  };
}

const timer = (ms: number) => {
  let id: NodeJS.Timeout | undefined;
  const done = new Promise<"timeout">((r) => {
    id = setTimeout(r, ms, "timeout");
  });
  return { done, clear: () => clearTimeout(id) };
};

/**
 * Boots an image once with a cloud-init seed and waits until provisioning is over: the guest's
 * power-off (ISO seed) or its phone_home (metadata service), then makes sure QEMU is gone.
 */
export async function runFirstBoot(options: RunFirstBootOptions): Promise<FirstBootResult> {
  const started = Date.now();
  const progress = options.onProgress;
  const work = await mkdtemp(join(tmpdir(), "strata-first-boot-"));
  await using cleanup = { [Symbol.asyncDispose]: () => rm(work, { recursive: true, force: true }) };
  void cleanup;
  const cdroms: string[] = [];
  await using service =
    options.via === "metadata"
      ? await startMetadataService({
          seed: options.seed,
          onRequest: (r) =>
            progress?.({
              type: "output",
              stage: "first-boot",
              line: `metadata: ${r.method} ${r.path} ${r.status}`,
            }),
        })
      : undefined;
  let seed: NoCloudSeed;
  if (service) seed = service.seed;
  else if (typeof options.seed === "function")
    throw new ImageInputError(
      "a seed that phones home needs the metadata service (via: metadata), not a seed ISO",
    );
  else seed = options.seed;
  if (options.via === "iso") {
    cdroms.push(join(work, "seed.iso"));
    await writeSeedIso({
      ...seed,
      outPath: cdroms[0]!,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
  const manifest = firstBootManifest(options.manifest, options.via, seed);
  // Disk-boot images have no command line to set: cloud-init also reads ds= from the SMBIOS serial.
  const extraArgs =
    service && manifest.boot.mode === "disk"
      ? ["-smbios", `type=1,serial=${noCloudUrlCmdline(METADATA_URL)}`]
      : [];
  progress?.({
    type: "stage",
    stage: "first-boot",
    message: `first boot with a cloud-init seed (${options.via === "iso" ? "ISO" : "metadata service"})`,
  });
  await using vm = await startVm({
    image: options.image,
    manifest,
    cdroms,
    network: options.network ?? "restricted",
    guestForwards: service ? [service.guestForward] : [],
    extraArgs,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const limit = timer(options.timeoutMs ?? DEFAULT_FIRST_BOOT_TIMEOUT_MS);
  try {
    const exited = vm.exited.then(() => "exited" as const);
    const phoned = service
      ? service.phoneHome.then((f) => ({ phoneHome: f }))
      : new Promise<never>(() => {});
    const first = await Promise.race([exited, phoned, limit.done]);
    if (first === "timeout")
      throw new FirstBootError(
        "IMAGE_FIRST_BOOT_TIMEOUT",
        `the first boot did not finish in ${Math.round((options.timeoutMs ?? DEFAULT_FIRST_BOOT_TIMEOUT_MS) / 1000)} s`,
        await vm.consoleTail(),
      );
    if (first === "exited") {
      if (service)
        throw new FirstBootError(
          "IMAGE_FIRST_BOOT_FAILED",
          "the guest powered off before cloud-init phoned home; see the console for cloud-init's errors",
          await vm.consoleTail(),
        );
      return { poweredOff: true, durationMs: Date.now() - started };
    }
    progress?.({
      type: "stage",
      stage: "first-boot",
      message: "the guest phoned home; waiting for it to power off",
    });
    const grace = timer(options.powerOffGraceMs ?? DEFAULT_POWER_OFF_GRACE_MS);
    const byItself = (await Promise.race([exited, grace.done])) === "exited";
    grace.clear();
    if (!byItself) await vm.shutdown();
    return { phoneHome: first.phoneHome, poweredOff: byItself, durationMs: Date.now() - started };
  } finally {
    limit.clear();
  }
}

import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runHostTool } from "@strata/host-tool";
import { type Accelerator, type ImageManifest, qemuBinary } from "@strata/qemu-runner";
import { HOTPLUG_PORTS, rawStatePath } from "@strata/qemu-runner/internal";
import type { ColdBootReason } from "./events.js";

/** Beside a layer: its VM's memory and devices, saved when the step ended (zstd). */
export const STATE_FILE = "vmstate.zst";
/** Beside a layer: what the saved state needs to be resumed (see {@link machineIdentity}). */
export const STATE_META = "vmstate.json";

/** Everything a saved state depends on; a state is resumed only by an identical machine. */
export interface MachineIdentity {
  qemu: string;
  arch: string;
  accel: Accelerator;
  memoryMiB: number;
  cpus: number;
  boot: string;
  firmware: string;
  disk: string;
  hotplugPorts: number;
}

const versions = new Map<string, Promise<string>>();

function qemuVersion(binary: string): Promise<string> {
  let v = versions.get(binary);
  if (!v) {
    v = runHostTool(binary, ["--version"]).then(
      (stdout) => stdout.split("\n")[0] ?? "",
      () => "unknown",
    );
    versions.set(binary, v);
  }
  return v;
}

async function fileIdentity(path: string | undefined): Promise<string> {
  if (!path) return "";
  const s = await stat(path).catch(() => undefined);
  return s ? `${s.size}:${Math.round(s.mtimeMs)}` : "missing";
}

export async function machineIdentity(
  manifest: ImageManifest,
  accel: Accelerator,
  memoryMiB: number | undefined,
  cpus: number | undefined,
): Promise<MachineIdentity> {
  const b = manifest.boot;
  const boot =
    b.mode === "kernel"
      ? `kernel ${await fileIdentity(b.kernel)} ${await fileIdentity(b.initrd)} ${b.cmdline ?? ""}`
      : "disk";
  return {
    qemu: await qemuVersion(qemuBinary(manifest.arch)),
    arch: manifest.arch,
    accel,
    memoryMiB: memoryMiB ?? manifest.memoryMiB,
    cpus: cpus ?? manifest.cpus,
    boot,
    firmware: manifest.firmware,
    disk: manifest.disk.interface,
    hotplugPorts: HOTPLUG_PORTS,
  };
}

/** The saved state of the layer in `layerDir` if this machine can resume it, else why not. */
export async function findWarmState(
  layerDir: string,
  now: MachineIdentity,
): Promise<{ path: string } | { reason: ColdBootReason }> {
  const meta = await readFile(join(layerDir, STATE_META), "utf8").catch(() => undefined);
  if (meta === undefined) return { reason: { code: "no-state" } };
  let saved: Partial<MachineIdentity>;
  try {
    saved = JSON.parse(meta) as Partial<MachineIdentity>;
  } catch {
    return { reason: { code: "state-meta-invalid" } };
  }
  const differs = (Object.keys(now) as (keyof MachineIdentity)[]).filter(
    (k) => saved[k] !== now[k],
  );
  if (differs.length > 0)
    return {
      reason: {
        code: "other-machine",
        differs: differs.map((key) => ({ key, saved: scalarOrNull(saved[key]), now: now[key] })),
      },
    };
  const path = join(layerDir, STATE_FILE);
  if (!(await stat(path).catch(() => undefined))) return { reason: { code: "state-missing" } };
  return { path };
}

/** A value read from a saved record, as reported: a string or number, else null. */
function scalarOrNull(v: unknown): string | number | null {
  return typeof v === "string" || typeof v === "number" ? v : null;
}

export async function writeWarmMeta(layerDir: string, identity: MachineIdentity): Promise<void> {
  await writeFile(join(layerDir, STATE_META), `${JSON.stringify(identity, null, 2)}\n`);
}

/**
 * Removes a layer's saved state (unusable, or older than the ones kept); the layer stays.
 * Resolves true when there was one.
 */
export async function dropWarmState(layerDir: string): Promise<boolean> {
  const had = (await stat(join(layerDir, STATE_FILE)).catch(() => undefined)) !== undefined;
  await rm(join(layerDir, STATE_META), { force: true });
  const path = join(layerDir, STATE_FILE);
  // With what a killed build may have left of one being written.
  for (const f of [path, rawStatePath(path), `${path}.part`]) await rm(f, { force: true });
  return had;
}

import { lstat, mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { HostToolError, runHostTool, spawnHostTool } from "@strata/host-tool";
import {
  type GuestOs,
  loadImageManifest,
  type MachineDefinition,
  parseMachineDefinition,
} from "@strata/qemu-runner";
import { ArchiveError } from "./errors.js";
import { assertImageAbsent, assertImageExists, saveImage } from "./image-files.js";
import { type InstalledSsh, installedManifestJson, MAX_MACHINE_FILE_BYTES } from "./install.js";
import type { ImageProgressListener } from "./progress.js";
import { runTool } from "./run-tool.js";
import { createWorkDir } from "./work-dir.js";

/**
 * taskcluster-worker's QEMU image format: a compressed tar (zstd, or lz4) of exactly
 * `disk.img` (raw, sparse), `layer.qcow2` (backed by `disk.img`, raw) and `machine.json`.
 */
const TASKCLUSTER_MEMBERS = ["disk.img", "layer.qcow2", "machine.json"] as const;
/** Largest disk (file or virtual size) accepted from an archive. @default 256 GiB */
const DEFAULT_MAX_TASKCLUSTER_DISK_BYTES = 256 * 2 ** 30;

type ArchiveCompression = "zstd" | "lz4";

/** Which decompressor a file needs, by its magic number; undefined for neither. */
async function archiveCompression(path: string): Promise<ArchiveCompression | undefined> {
  const fh = await open(path, "r");
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    const magic = buffer.subarray(0, bytesRead).toString("hex");
    if (magic === "28b52ffd") return "zstd";
    if (magic === "04224d18") return "lz4";
    return undefined;
  } finally {
    await fh.close();
  }
}

const tarCompressArgs = (c: ArchiveCompression) => (c === "zstd" ? ["--zstd"] : ["-I", "lz4"]);

/** Whether an archive's first member is one of taskcluster's (reads only the first header). */
export async function isTaskclusterArchive(path: string): Promise<boolean> {
  const c = await archiveCompression(path);
  if (!c) return false;
  const child = await spawnHostTool(c, ["-dc", "-q", path]);
  let head = Buffer.alloc(0);
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    head = Buffer.concat([head, chunk]);
    if (head.length >= 512) break;
  }
  child.kill();
  // Killed once the first header is read (or failed on a file that is not one): the header says.
  await child.done.catch(() => {});
  const name = head.subarray(0, 100).toString("latin1").replace(/\0.*$/s, "");
  return (TASKCLUSTER_MEMBERS as readonly string[]).includes(name.replace(/^\.\//, ""));
}

/** One line of `tar -tv --numeric-owner`: its type character, size and name. */
export function parseTarListing(line: string): { type: string; size: number; name: string } {
  // e.g. "-rw-r--r-- 0/0   1073741824 2026-11-30 13:00 disk.img"
  const m = /^(\S)\S*\s+\S+\s+(\d+)\s+\S+\s+\S+\s(.*)$/.exec(line);
  if (!m) throw new ArchiveError(`unexpected tar listing line: ${JSON.stringify(line)}`);
  return { type: m[1]!, size: Number(m[2]), name: m[3]! };
}

/**
 * Checks a listing before anything is extracted: exactly the three members, each once, each a
 * regular file (GNU tar lists sparse files as regular), none over `maxBytes`.
 */
export function checkTaskclusterListing(lines: readonly string[], maxBytes: number): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const e = parseTarListing(line);
    const name = e.name.replace(/^\.\//, "");
    if (!(TASKCLUSTER_MEMBERS as readonly string[]).includes(name)) {
      problems.push(`"${e.name}" is not one of ${TASKCLUSTER_MEMBERS.join(", ")}`);
      continue;
    }
    if (e.type !== "-") problems.push(`"${name}" is not a regular file (tar type "${e.type}")`);
    if (seen.has(name)) problems.push(`"${name}" appears twice`);
    if (e.size > maxBytes)
      problems.push(`"${name}" is ${e.size} bytes, over the ${maxBytes} limit`);
    seen.add(name);
  }
  for (const m of TASKCLUSTER_MEMBERS) if (!seen.has(m)) problems.push(`"${m}" is missing`);
  return problems;
}

interface QemuImgInfo {
  format?: string;
  "virtual-size"?: number;
  "dirty-flag"?: boolean;
  "backing-filename"?: string;
  "backing-filename-format"?: string;
  "format-specific"?: { data?: { "data-file"?: string } };
}

async function imgInfo(path: string, format: "raw" | "qcow2"): Promise<QemuImgInfo> {
  // The format is always given: probing a "raw" file that holds a qcow2 header is the classic way
  // to make a host tool follow a hostile backing file.
  const stdout = await runHostTool("qemu-img", ["info", "-f", format, "--output=json", path]).catch(
    (e: unknown) => {
      if (!(e instanceof HostToolError)) throw e;
      throw new ArchiveError(`qemu-img cannot read ${path} as ${format}: ${e.tail.trim()}`);
    },
  );
  return JSON.parse(stdout) as QemuImgInfo;
}

/** Why the extracted disk files must not be used, checked with qemu-img; empty when they are fine. */
function checkTaskclusterDisks(disk: QemuImgInfo, layer: QemuImgInfo, maxBytes: number): string[] {
  const problems: string[] = [];
  if ((disk["virtual-size"] ?? 0) > maxBytes)
    problems.push(`disk.img has a virtual size over the ${maxBytes}-byte limit`);
  if ((layer["virtual-size"] ?? 0) > maxBytes)
    problems.push(`layer.qcow2 has a virtual size over the ${maxBytes}-byte limit`);
  if (layer["dirty-flag"]) problems.push("layer.qcow2 has its dirty flag set");
  if (layer["backing-filename"] !== "disk.img")
    problems.push(
      `layer.qcow2 must be backed by "disk.img", not ${JSON.stringify(layer["backing-filename"] ?? null)}`,
    );
  if (layer["backing-filename-format"] !== "raw")
    problems.push("layer.qcow2 must name its backing file's format as raw");
  const dataFile = layer["format-specific"]?.data?.["data-file"];
  if (dataFile !== undefined)
    problems.push(`layer.qcow2 names an external data file (${JSON.stringify(dataFile)})`);
  return problems;
}

export interface ImportTaskclusterOptions {
  archive: string;
  baseImageDir: string;
  name: string;
  /** @default "linux" */
  os?: GuestOs | undefined;
  /** How to log in, if the image has SSH; else the manifest says `"ssh": false`. */
  ssh?: InstalledSsh | undefined;
  /** @default DEFAULT_MAX_TASKCLUSTER_DISK_BYTES */
  maxDiskBytes?: number | undefined;
  onProgress?: ImageProgressListener | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Imports a taskcluster-worker image archive as base image NAME, with its machine definition
 * in the manifest. Hostile input is refused before anything enters the store: other members,
 * links or devices, a second copy of a member, sizes over the limit, a layer whose backing file
 * is not `disk.img` or that names a data file, an invalid machine.json.
 */
export async function importTaskclusterImage(
  o: ImportTaskclusterOptions,
): Promise<{ name: string; image: string }> {
  const dir = resolve(o.baseImageDir);
  await assertImageAbsent(dir, o.name);
  const archive = resolve(o.archive);
  const compression = await archiveCompression(archive).catch(() => undefined);
  if (!compression)
    throw new ArchiveError(
      `${o.archive}: not a zstd or lz4 file; taskcluster images are .tar.zst or .tar.lz4`,
    );
  const max = o.maxDiskBytes ?? DEFAULT_MAX_TASKCLUSTER_DISK_BYTES;
  const refuse = (problems: string[]) =>
    new ArchiveError(`${o.archive}: ${problems.join("; ")}; the image was not imported`);
  const listing = await runHostTool(
    "tar",
    [...tarCompressArgs(compression), "-tv", "--numeric-owner", "-f", archive],
    { signal: o.signal },
  ).catch((e: unknown) => {
    if (!(e instanceof HostToolError)) throw e;
    throw refuse([`tar cannot list it (${e.tail.trim()})`]);
  });
  const listed = checkTaskclusterListing(listing.split("\n").filter(Boolean), max);
  if (listed.length > 0) throw refuse(listed);
  await mkdir(dir, { recursive: true });
  const work = join(dir, `.import-${o.name}-${process.pid}`);
  await createWorkDir(work);
  try {
    o.onProgress?.({ type: "stage", stage: "extract", message: `extracting ${o.archive}` });
    await runTool(
      "tar",
      [
        ...tarCompressArgs(compression),
        "-x",
        "--no-same-owner",
        "--no-same-permissions",
        "--keep-old-files",
        "-C",
        work,
        "-f",
        archive,
        ...TASKCLUSTER_MEMBERS,
      ],
      { stage: "extract", signal: o.signal },
    ).catch((err: unknown) => {
      throw refuse([`extraction failed (${(err as Error).message.split("\n")[0]})`]);
    });
    for (const m of TASKCLUSTER_MEMBERS) {
      const s = await lstat(join(work, m)).catch(() => undefined);
      if (!s?.isFile() || s.nlink !== 1) throw refuse([`"${m}" did not extract as a plain file`]);
    }
    if ((await stat(join(work, "machine.json"))).size > MAX_MACHINE_FILE_BYTES)
      throw refuse(["machine.json is larger than 1 MiB"]);
    const parsed = parseMachineDefinition(await readFile(join(work, "machine.json"), "utf8"));
    if (!parsed.ok)
      throw refuse(parsed.problems.map((p) => `machine.json: ${p.path || "(root)"}: ${p.message}`));
    const disks = checkTaskclusterDisks(
      await imgInfo(join(work, "disk.img"), "raw"),
      await imgInfo(join(work, "layer.qcow2"), "qcow2"),
      max,
    );
    if (disks.length > 0) throw refuse(disks);
    const qcow2 = `${o.name}.qcow2`;
    o.onProgress?.({ type: "stage", stage: "convert", message: `converting to ${qcow2}` });
    // The backing file is given explicitly, so nothing but disk.img, as raw, is ever opened.
    await runTool(
      "qemu-img",
      [
        "convert",
        "-O",
        "qcow2",
        `json:${JSON.stringify({
          driver: "qcow2",
          file: { driver: "file", filename: join(work, "layer.qcow2") },
          backing: { driver: "raw", file: { driver: "file", filename: join(work, "disk.img") } },
        })}`,
        join(work, qcow2),
      ],
      { stage: "convert", onProgress: o.onProgress, signal: o.signal },
    );
    const json = installedManifestJson(o.name, { os: o.os, ssh: o.ssh }, parsed.machine, undefined);
    const saved = await saveImage(work, dir, o.name, {
      ...json,
      importedFrom: archive,
      created: new Date().toISOString(),
    });
    return { name: o.name, image: saved.image };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface ExportTaskclusterOptions {
  baseImageDir: string;
  name: string;
  /** The archive to write: `.tar.zst` (zstd) or `.tar.lz4` (lz4). */
  outPath: string;
  onProgress?: ImageProgressListener | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Writes base image NAME in taskcluster-worker's format: its disk as a sparse raw `disk.img`, an
 * empty `layer.qcow2` on it, and its machine definition (taskcluster's defaults where it has none).
 */
export async function exportTaskclusterImage(o: ExportTaskclusterOptions): Promise<void> {
  const dir = resolve(o.baseImageDir);
  const image = await assertImageExists(dir, o.name);
  const manifest = await loadImageManifest(image);
  const machine: MachineDefinition = manifest.machine ?? { version: 1 };
  const out = resolve(o.outPath);
  const compression: ArchiveCompression = out.endsWith(".lz4") ? "lz4" : "zstd";
  const work = join(dir, `.export-${o.name}-${process.pid}`);
  await createWorkDir(work);
  try {
    const run = { signal: o.signal, onProgress: o.onProgress };
    await runTool(
      "qemu-img",
      ["convert", "-p", "-f", "qcow2", "-O", "raw", image, join(work, "disk.img")],
      {
        stage: "convert",
        ...run,
      },
    );
    await runTool(
      "qemu-img",
      [
        "create",
        "-q",
        "-f",
        "qcow2",
        "-b",
        "disk.img",
        "-F",
        "raw",
        "-o",
        "lazy_refcounts=on",
        "layer.qcow2",
      ],
      { stage: "layer", cwd: work, signal: o.signal },
    );
    await writeFile(join(work, "machine.json"), `${JSON.stringify(machine)}\n`);
    const tmp = `${out}.partial-${process.pid}`;
    await runTool(
      "tar",
      [...tarCompressArgs(compression), "-S", "-c", "-f", tmp, "-C", work, ...TASKCLUSTER_MEMBERS],
      { stage: "archive", signal: o.signal },
    ).catch(async (err: unknown) => {
      await rm(tmp, { force: true });
      throw err;
    });
    await rename(tmp, out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { HostToolError, spawnHostTool } from "@strata/host-tool";
import { readQcow2Backing } from "@strata/qemu-runner/internal";
import tar from "tar-stream";
import { ARCHIVE_SUMS } from "./archive-export.js";
import { parseSha256Sums } from "./download.js";
import { ArchiveError } from "./errors.js";
import {
  assertImageAbsent,
  checkImageName,
  IMAGE_FILE_SUFFIXES,
  moveImageInto,
  readManifestJson,
  renameManifestFiles,
} from "./image-files.js";
import { checkStandaloneQcow2 } from "./qcow2-header.js";
import { createWorkDir } from "./work-dir.js";

/** Largest entry accepted. @default 1 TiB */
const DEFAULT_MAX_ENTRY_BYTES = 2 ** 40;

export interface ImportImageOptions {
  archive: string;
  baseImageDir: string;
  /** Import under this name instead of the archive's. */
  name?: string | undefined;
  /** @default DEFAULT_MAX_ENTRY_BYTES */
  maxEntryBytes?: number;
  signal?: AbortSignal;
}

/** Why an entry name may not be written: checked before any byte of it is. */
export function checkEntryName(entry: string): string | undefined {
  if (entry.startsWith("/") || entry.split(/[\\/]/).includes(".."))
    return `"${entry}" points outside the archive (path traversal)`;
  if (entry.includes("/") || entry.includes("\\"))
    return `"${entry}" is in a directory; image archives are flat`;
  // Image names never start with a dot; the import's own work files (its owner record) do.
  if (entry.startsWith("."))
    return `"${entry}" is a hidden file; image archives hold only an image's files`;
  return undefined;
}

/** The manifest fields that name files, by JSON path. */
const MANIFEST_FILE_FIELDS = [
  ["boot", "kernel"],
  ["boot", "initrd"],
  ["ssh", "privateKey"],
] as const;

/**
 * Problems with an imported manifest (pure; empty when fine): every file it names must be a
 * plain file name (no directory, not absolute, no `..`) among the archive's own files, so a
 * manifest can never point the runner at a host file (a kernel, an initrd or a key to read).
 */
export function checkImportedManifest(manifest: unknown, files: readonly string[]): string[] {
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest))
    return ["the manifest is not a JSON object"];
  const problems: string[] = [];
  const m = manifest as Record<string, unknown>;
  for (const [section, key] of MANIFEST_FILE_FIELDS) {
    const parent = m[section];
    if (parent === undefined) continue;
    if (typeof parent !== "object" || parent === null) {
      problems.push(`${section} is not an object`);
      continue;
    }
    const value = (parent as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const where = `${section}.${key}`;
    if (typeof value !== "string" || value === "") problems.push(`${where} is not a file name`);
    else if (checkEntryName(value) || value === "." || value.includes("\0"))
      problems.push(`${where} "${value}" is not a plain file name inside the image`);
    else if (!files.includes(value))
      problems.push(`${where} "${value}" is not one of the archive's files (${files.join(", ")})`);
  }
  return problems;
}

/**
 * Imports an archive written by `exportImage`, refusing anything unexpected before it reaches
 * the store: links, directories, names with paths or `..`, entries over the size limit, files the
 * checksums do not list or do not match, a qcow2 that names any other file (a backing file, an
 * external data file, a `json:` name: it could read host files), and a manifest naming any file
 * but the archive's own.
 */
export async function importImage(
  options: ImportImageOptions,
): Promise<{ name: string; image: string; files: string[] }> {
  const dir = options.baseImageDir;
  const max = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  await mkdir(dir, { recursive: true });
  const work = join(dir, `.import-${process.pid}-${Date.now()}`);
  await createWorkDir(work);
  try {
    const sums = new Map<string, string>();
    const got: string[] = [];
    let sawSums = false;
    const extract = tar.extract();
    const zstd = await spawnHostTool("zstd", ["-dc", "-q", options.archive], {
      signal: options.signal,
    });
    const reading = (async () => {
      for await (const entry of extract) {
        const h = entry.header;
        const bad = (why: string) =>
          new ArchiveError(`${options.archive}: ${why}; the archive was not imported`);
        if (h.type === "symlink" || h.type === "link")
          throw bad(
            `"${h.name}" is a ${h.type === "link" ? "hard " : "symbolic "}link (to "${h.linkname}"); links are not allowed`,
          );
        if (h.type !== "file")
          throw bad(`"${h.name}" is a ${h.type}; only regular files are allowed`);
        const nameProblem = checkEntryName(h.name);
        if (nameProblem) throw bad(nameProblem);
        if ((h.size ?? 0) > max)
          throw bad(`"${h.name}" is ${h.size} bytes, over the limit of ${max}`);
        if (!sawSums) {
          if (h.name !== ARCHIVE_SUMS)
            throw bad(`the first entry is "${h.name}", not ${ARCHIVE_SUMS}`);
          if ((h.size ?? 0) > 65_536) throw bad(`${ARCHIVE_SUMS} is too large`);
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(c as Buffer);
          for (const [k, v] of parseSha256Sums(Buffer.concat(chunks).toString("utf8")))
            sums.set(k, v);
          for (const k of sums.keys()) {
            const problem = checkEntryName(k);
            if (problem) throw bad(`${ARCHIVE_SUMS} lists ${problem}`);
          }
          sawSums = true;
          continue;
        }
        const want = sums.get(h.name);
        if (!want) throw bad(`"${h.name}" is not listed in ${ARCHIVE_SUMS}`);
        if (got.includes(h.name)) throw bad(`"${h.name}" appears twice`);
        const hash = createHash("sha256");
        let seen = 0;
        const count = new Transform({
          transform(chunk: Buffer, _e, cb) {
            seen += chunk.length;
            if (seen > max) return cb(bad(`"${h.name}" is larger than its header says`));
            hash.update(chunk);
            cb(null, chunk);
          },
        });
        await pipeline(
          entry,
          count,
          createWriteStream(join(work, h.name), { mode: h.name.endsWith(".key") ? 0o600 : 0o644 }),
        );
        if (hash.digest("hex") !== want)
          throw bad(`"${h.name}" does not match its checksum (corrupt or altered)`);
        got.push(h.name);
      }
    })();
    zstd.stdout.pipe(extract);
    await Promise.all([
      zstd.done.catch((e: unknown) => {
        if (!(e instanceof HostToolError)) throw e;
        throw new ArchiveError(
          `${options.archive}: not a zstd-compressed archive (${e.tail.trim() || `exit ${e.exitCode}`})`,
        );
      }),
      reading.catch(async (e) => {
        zstd.kill();
        throw e;
      }),
    ]);
    const missing = [...sums.keys()].filter((k) => !got.includes(k));
    if (missing.length > 0)
      throw new ArchiveError(
        `${options.archive}: ${missing.join(", ")} listed in ${ARCHIVE_SUMS} but missing`,
      );
    const qcow2s = got.filter((f) => f.endsWith(".qcow2"));
    if (qcow2s.length !== 1)
      throw new ArchiveError(
        `${options.archive}: holds ${qcow2s.length} qcow2 images; expected one`,
      );
    const from = qcow2s[0]!.slice(0, -6);
    checkImageName(from, "image name in the archive");
    for (const f of got)
      if (!IMAGE_FILE_SUFFIXES.some((s) => f === `${from}.${s}`))
        throw new ArchiveError(`${options.archive}: unexpected file "${f}" beside ${from}.qcow2`);
    const backing = await readQcow2Backing(join(work, `${from}.qcow2`)).catch((e: Error) => {
      throw new ArchiveError(`${options.archive}: ${e.message}`);
    });
    // Not a qcow2 at all (null): checkStandaloneQcow2 says so below.
    if (typeof backing === "string")
      throw new ArchiveError(
        `${options.archive}: ${from}.qcow2 has a backing file ("${backing}"); only standalone images are imported`,
      );
    const external = await checkStandaloneQcow2(join(work, `${from}.qcow2`), options.signal);
    if (external.length > 0)
      throw new ArchiveError(
        `${options.archive}: ${from}.qcow2 is refused: ${external.join("; ")}; only standalone qcow2 images are imported`,
      );
    if (got.includes(`${from}.json`)) {
      const json = await readManifestJson(work, from).catch((e: Error) => {
        throw new ArchiveError(`${options.archive}: ${e.message}`);
      });
      const problems = checkImportedManifest(json, got);
      if (problems.length > 0)
        throw new ArchiveError(
          `${options.archive}: ${from}.json is refused: ${problems.join("; ")}`,
        );
    }
    const name = options.name ?? from;
    await assertImageAbsent(dir, name);
    let files = got;
    if (name !== from) {
      const out = join(work, "renamed");
      await mkdir(out);
      const json = await readManifestJson(work, from).catch(() => undefined);
      const renamed = json
        ? await renameManifestFiles(json, work, out, name)
        : { manifest: undefined, files: [] };
      if (renamed.manifest)
        await writeFile(
          join(out, `${name}.json`),
          `${JSON.stringify(renamed.manifest, null, 2)}\n`,
        );
      await rename(join(work, `${from}.qcow2`), join(out, `${name}.qcow2`));
      files = [`${name}.qcow2`, ...(renamed.manifest ? [`${name}.json`] : []), ...renamed.files];
      await moveImageInto(out, dir, name, files);
    } else await moveImageInto(work, dir, name, files);
    return { name, image: join(dir, `${name}.qcow2`), files };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { HostToolError, spawnHostTool } from "@strata/host-tool";
import { readQcow2Backing } from "@strata/qemu-runner/internal";
import tar from "tar-stream";
import { ImageCommandError } from "./errors.js";
import { assertImageExists, readManifestJson, renameManifestFiles } from "./image-files.js";
import type { ImageProgressListener } from "./progress.js";
import { runTool } from "./run-tool.js";
import { createWorkDir } from "./work-dir.js";

/** The archive's first entry: `sha256sum` lines for every other entry. */
export const ARCHIVE_SUMS = "SHA256SUMS";

export interface ExportImageOptions {
  baseImageDir: string;
  name: string;
  /** The `.tar.zst` to write. */
  outPath: string;
  onProgress?: ImageProgressListener;
  signal?: AbortSignal;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/**
 * Writes one zstd-compressed tar: `SHA256SUMS` first, then a standalone qcow2 (an image with a
 * backing file is flattened), the manifest and the files it names (kernel, initrd, SSH key),
 * all under the image's name and flat (no directories).
 */
export async function exportImage(
  options: ExportImageOptions,
): Promise<{ path: string; files: string[] }> {
  const { baseImageDir: dir, name, signal } = options;
  const image = await assertImageExists(dir, name);
  const work = join(dirname(options.outPath), `.export-${name}-${process.pid}`);
  await createWorkDir(work);
  try {
    const files: string[] = [];
    let qcow2 = image;
    // A chain (or, were it ever one, not a qcow2 at all: null) is converted into one file.
    if ((await readQcow2Backing(image)) !== undefined) {
      options.onProgress?.({
        type: "stage",
        stage: "convert",
        message: "flattening the image into a standalone qcow2",
      });
      qcow2 = join(work, `${name}.qcow2`);
      await runTool("qemu-img", ["convert", "-p", "-O", "qcow2", image, qcow2], {
        stage: "convert",
        onProgress: options.onProgress,
        signal,
      });
    }
    const json = await readManifestJson(dir, name);
    if (json) {
      const renamed = await renameManifestFiles(json, dir, work, name);
      await writeFile(join(work, `${name}.json`), `${JSON.stringify(renamed.manifest, null, 2)}\n`);
      files.push(`${name}.json`, ...renamed.files);
    }
    const paths = new Map([
      [`${name}.qcow2`, qcow2],
      ...files.map((f) => [f, join(work, f)] as const),
    ]);
    options.onProgress?.({ type: "stage", stage: "checksum", message: "computing checksums" });
    const sums: string[] = [];
    for (const [entry, path] of paths) sums.push(`${await sha256(path)}  ${entry}`);
    const pack = tar.pack();
    const partial = `${options.outPath}.part`;
    const zstd = await spawnHostTool("zstd", ["-q", "-T0", "-3", "-f", "-o", partial], {
      stdin: "pipe",
      signal,
    });
    pack.pipe(zstd.stdin!);
    const sumsText = Buffer.from(`${sums.join("\n")}\n`);
    pack.entry({ name: ARCHIVE_SUMS, size: sumsText.length, mode: 0o644 }, sumsText);
    let done = 0;
    const total = [...paths.values()].length;
    for (const [entry, path] of paths) {
      options.onProgress?.({
        type: "stage",
        stage: "pack",
        message: `adding ${entry} (${++done}/${total})`,
      });
      const size = (await stat(path)).size;
      const sink = pack.entry({ name: entry, size, mode: entry.endsWith(".key") ? 0o600 : 0o644 });
      await pipeline(createReadStream(path), sink);
    }
    pack.finalize();
    try {
      await zstd.done;
    } catch (e) {
      await rm(partial, { force: true });
      if (!(e instanceof HostToolError)) throw e;
      throw new ImageCommandError("export", e.command, e.exitCode, e.tail, { cause: e });
    }
    await rename(partial, options.outPath);
    return { path: options.outPath, files: [...paths.keys()] };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DownloadError } from "./errors.js";
import type { ImageProgressListener } from "./progress.js";

/** `sha256sum` output: `<hex>  <name>` or `<hex> *<name>` (binary mode) per line → name → hex. */
export function parseSha256Sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trim());
    if (m) sums.set(m[2]!.replace(/^\.\//, ""), m[1]!.toLowerCase());
  }
  return sums;
}

async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash, signal ? { signal } : {});
  return hash.digest("hex");
}

interface DownloadFileOptions {
  url: string;
  /** Where the file goes once verified; `<dest>.part` holds it meanwhile. */
  dest: string;
  /** Expected SHA-256 (hex). A mismatch deletes the download. */
  sha256: string;
  onProgress?: ImageProgressListener;
  signal?: AbortSignal;
}

interface DownloadResult {
  path: string;
  /** Bytes fetched by this call (less than the size when resumed, 0 when already there). */
  fetched: number;
  resumedFrom: number;
}

/**
 * Downloads `url` to `dest`, resuming a previous `<dest>.part` with an HTTP Range request, and
 * checks the SHA-256. A file already at `dest` with the right hash is kept as it is.
 */
export async function downloadFile(options: DownloadFileOptions): Promise<DownloadResult> {
  const { url, dest, signal } = options;
  const expected = options.sha256.toLowerCase();
  const stage = "download";
  if ((await stat(dest).catch(() => undefined)) && (await sha256File(dest, signal)) === expected)
    return { path: dest, fetched: 0, resumedFrom: 0 };
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const have = (await stat(part).catch(() => undefined))?.size ?? 0;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: have > 0 ? { range: `bytes=${have}-` } : {},
      ...(signal ? { signal } : {}),
    });
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw new DownloadError(
      "IMAGE_DOWNLOAD_FAILED",
      `cannot fetch ${url}: ${(cause as Error).message}; check the URL and the network, then run again`,
      { cause },
    );
  }
  // 416: the part already holds the whole file (a previous run stopped before verifying).
  const complete = response.status === 416 && have > 0;
  if (!complete && response.status !== 200 && response.status !== 206)
    throw new DownloadError("IMAGE_DOWNLOAD_FAILED", `GET ${url}: HTTP ${response.status}`);
  const resumedFrom = response.status === 206 ? have : 0;
  let fetched = 0;
  if (!complete) {
    const length = Number(response.headers.get("content-length") ?? Number.NaN);
    const total = Number.isFinite(length) ? resumedFrom + length : undefined;
    options.onProgress?.({
      type: "stage",
      stage,
      message: resumedFrom ? `resuming ${url} at ${resumedFrom} bytes` : `downloading ${url}`,
    });
    const body = response.body
      ? Readable.fromWeb(response.body as import("node:stream/web").ReadableStream)
      : Readable.from([]);
    let last = 0;
    body.on("data", (chunk: Buffer) => {
      fetched += chunk.length;
      const now = Date.now();
      if (now - last > 200) {
        last = now;
        options.onProgress?.({ type: "bytes", stage, done: resumedFrom + fetched, total });
      }
    });
    try {
      // A 200 to a Range request means the server ignored it: start over.
      await pipeline(
        body,
        createWriteStream(part, { flags: resumedFrom ? "a" : "w" }),
        signal ? { signal } : {},
      );
    } catch (cause) {
      if (signal?.aborted) throw cause;
      throw new DownloadError(
        "IMAGE_DOWNLOAD_FAILED",
        `download of ${url} broke off after ${resumedFrom + fetched} bytes (${(cause as Error).message}); run again to resume`,
        { cause },
      );
    }
    options.onProgress?.({
      type: "bytes",
      stage,
      done: resumedFrom + fetched,
      total: total ?? resumedFrom + fetched,
    });
  } else {
    await response.body?.cancel();
  }
  options.onProgress?.({ type: "stage", stage: "verify", message: "checking SHA-256" });
  const actual = await sha256File(part, signal);
  if (actual !== expected) {
    await rm(part, { force: true });
    throw new DownloadError(
      "IMAGE_CHECKSUM_MISMATCH",
      `${url}: SHA-256 is ${actual}, the published sum is ${expected}; the download was deleted, run again to fetch it anew`,
    );
  }
  await rename(part, dest);
  return { path: dest, fetched, resumedFrom };
}

/** Fetches a SHA256SUMS file and returns the sum published for `fileName`. */
export async function fetchPublishedSha256(
  sumsUrl: string,
  fileName: string,
  signal?: AbortSignal,
): Promise<string> {
  let text: string;
  try {
    const res = await fetch(sumsUrl, signal ? { signal } : {});
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw new DownloadError(
      "IMAGE_DOWNLOAD_FAILED",
      `cannot fetch ${sumsUrl}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const sum = parseSha256Sums(text).get(fileName);
  if (!sum)
    throw new DownloadError(
      "IMAGE_DOWNLOAD_FAILED",
      `${sumsUrl} lists no ${fileName}; is the release or the architecture right?`,
    );
  return sum;
}

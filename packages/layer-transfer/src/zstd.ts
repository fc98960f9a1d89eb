import { createReadStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { createDigester } from "@strata/registry";
import { TransferError } from "./errors.js";
// execa is loaded on first use: a fully cached build runs no process.

/** zstd level for disk chunks: level 3 (zstd's default) compresses ~200+ MB/s per core. */
export const ZSTD_LEVEL = 3;

/**
 * Compresses `length` bytes of `path` from `offset` with the `zstd` program (single-threaded,
 * so the output depends only on the input and level; chunks run in parallel instead).
 */
export async function compressRange(
  path: string,
  offset: number,
  length: number,
  signal?: AbortSignal,
): Promise<{ data: Buffer; rawDigest: string }> {
  const { execa } = await import("execa");
  const digester = createDigester();
  const child = execa("zstd", ["-q", "-c", `-${ZSTD_LEVEL}`, "--no-check"], {
    stdin: "pipe",
    encoding: "buffer",
    reject: false,
    maxBuffer: length + 1024 * 1024,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  if (length === 0) child.stdin.end();
  else {
    const input = createReadStream(path, { start: offset, end: offset + length - 1 });
    input.on("data", (chunk) => digester.update(chunk as Buffer));
    input.pipe(child.stdin);
  }
  const result = await child;
  if (signal?.aborted) throw signal.reason;
  if (result.failed) {
    throw new TransferError(
      "TRANSFER_ZSTD",
      `zstd failed compressing ${path}: ${Buffer.from(result.stderr).toString().trim() || result.message}`,
    );
  }
  return { data: Buffer.from(result.stdout), rawDigest: digester.digest() };
}

/**
 * Decompresses the zstd file `source` into `target` at `offset`, hashing what comes out:
 * returns the digest and length of the decompressed bytes, and stops early past `maxLength`.
 */
export async function decompressInto(
  source: string,
  target: FileHandle,
  offset: number,
  maxLength: number,
  signal?: AbortSignal,
): Promise<{ rawDigest: string; length: number }> {
  const { execa } = await import("execa");
  const digester = createDigester();
  const child = execa("zstd", ["-q", "-d", "-c", source], {
    stdin: "ignore",
    buffer: { stdout: false },
    reject: false,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  let length = 0;
  let tooLong = false;
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    if (length + chunk.length > maxLength) {
      tooLong = true;
      child.kill();
      break;
    }
    await target.write(chunk, 0, chunk.length, offset + length);
    digester.update(chunk);
    length += chunk.length;
  }
  const result = await child;
  if (signal?.aborted) throw signal.reason;
  if (tooLong) return { rawDigest: "(longer than declared)", length: maxLength + 1 };
  if (result.failed) {
    throw new TransferError(
      "TRANSFER_ZSTD",
      `zstd could not decompress ${source}: ${String(result.stderr).trim()}`,
    );
  }
  return { rawDigest: digester.digest(), length };
}

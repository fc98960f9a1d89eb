import { createReadStream } from "node:fs";
import { type FileHandle, open, rm, stat } from "node:fs/promises";
import createDebug from "debug";
import { createDigester } from "./digest.js";
import { DigestMismatchError, RegistryUnreachableError } from "./errors.js";
import type { HttpSession } from "./http.js";
import type { StreamAnswer } from "./transport.js";

const debug = createDebug("strata:registry");

/** Resumes after a dropped connection, within one call. */
export const DEFAULT_RESUME_ATTEMPTS = 5;

/** Options of {@link pullBlobToFile}. */
export interface PullBlobOptions {
  /** The blob's size from its descriptor: more bytes than this are refused early. */
  readonly size?: number;
  readonly signal?: AbortSignal;
  /** Called with the number of new bytes as they arrive (a resumed prefix is reported once). */
  readonly onProgress?: (bytes: number) => void;
  /** Times a broken body is resumed with `Range` before giving up. @default 5 */
  readonly resumeAttempts?: number;
}

/** What {@link pullBlobToFile} did. */
export interface PullBlobResult {
  readonly size: number;
  /** Bytes that were already in the file from an earlier, interrupted pull. */
  readonly resumedFrom: number;
  /** Extra requests made to resume after broken connections. */
  readonly resumes: number;
}

/**
 * Downloads a blob into `path`, continuing from whatever prefix the file already holds (an
 * earlier pull killed mid-blob) with a `Range` request, and resuming again when the connection
 * drops. The whole file is hashed; on a digest mismatch it is deleted and
 * {@link DigestMismatchError} thrown, so a bad prefix is never resumed twice. Each write takes
 * everything that arrived while the previous one ran (up to 2 MiB), and nothing waits for
 * more: what arrived before a stall is in the file, for a resume after a kill.
 */
export async function pullBlobToFile(
  http: HttpSession,
  repository: string,
  digest: string,
  path: string,
  options: PullBlobOptions = {},
): Promise<PullBlobResult> {
  let digester = createDigester();
  let offset = await hashExisting(path, digester, options.size);
  const resumedFrom = offset;
  if (offset > 0) options.onProgress?.(offset);
  let resumes = 0;
  const maxResumes = options.resumeAttempts ?? DEFAULT_RESUME_ATTEMPTS;
  const what = `pull of blob ${digest} from ${repository}`;
  // O_APPEND: after a truncate (a registry that ignored the range) writes start at 0 again.
  const file = await open(path, "a");
  try {
    while (options.size === undefined || offset < options.size) {
      const response = await http.download({
        method: "GET",
        path: `${repository}/blobs/${digest}`,
        scopes: [`repository:${repository}:pull`],
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        expect: [200, 206, 416],
        ...(options.signal ? { signal: options.signal } : {}),
        what,
      });
      if (response.status === 416) {
        await response.discard();
        break; // We hold every byte already; the digest check below decides.
      }
      if (response.status === 200 && offset > 0) {
        // The registry ignored the range: start over rather than append a second copy.
        debug("%s: range ignored, restarting", digest);
        await file.truncate(0);
        digester = createDigester();
        offset = 0;
      }
      try {
        const position = { offset };
        try {
          await appendBody(response, file, digester, position, options, digest);
        } finally {
          // Bytes that reached the file before a break count: the resume starts after them.
          offset = position.offset;
        }
        break;
      } catch (error) {
        if (options.signal?.aborted || error instanceof DigestMismatchError) throw error;
        // A full disk is no dropped connection: the file's own error, not a resume.
        if (error instanceof WriteFailed) throw error.cause;
        if (resumes >= maxResumes)
          throw new RegistryUnreachableError(http.baseUrl, { cause: error });
        resumes += 1;
        debug(
          "%s: body broke at %d bytes (%s), resuming",
          digest,
          offset,
          (error as Error).message,
        );
      }
    }
  } finally {
    await file.close();
  }
  const actual = digester.digest();
  if (actual !== digest) {
    await rm(path, { force: true });
    throw new DigestMismatchError(`Blob ${digest} from ${repository}`, digest, actual);
  }
  return { size: offset, resumedFrom, resumes };
}

/**
 * Appends the body to the file as it arrives: the chunks undici hands over (its `data` events,
 * never concatenated) are collected while a write runs and go out in the next `writev`; each
 * is hashed once written. Past {@link PENDING_BYTES} waiting, the body is paused. Settles only
 * once no write is running, so `position` is what the file holds.
 */
function appendBody(
  response: StreamAnswer,
  file: FileHandle,
  digester: ReturnType<typeof createDigester>,
  position: { offset: number },
  options: PullBlobOptions,
  digest: string,
): Promise<void> {
  const body = response.body;
  return new Promise<void>((resolve, reject) => {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    /** Bytes of the write running, 0 when none is. */
    let writing = 0;
    let ended = false;
    let failure: { error: unknown } | undefined;
    const settle = () => {
      if (writing > 0) return;
      if (failure) reject(failure.error);
      else if (ended && pending.length === 0) resolve();
    };
    const fail = (error: unknown) => {
      failure ??= { error };
      body.destroy();
      settle();
    };
    const flush = () => {
      if (writing > 0 || failure || pending.length === 0) return settle();
      const batch = pending;
      const bytes = pendingBytes;
      pending = [];
      pendingBytes = 0;
      writing = bytes;
      writevAll(file, batch, bytes).then(
        () => {
          writing = 0;
          // Hash only what reached the file, so a resume continues the same hash.
          for (const chunk of batch) digester.update(chunk);
          position.offset += bytes;
          options.onProgress?.(bytes);
          if (!ended && !failure) body.resume();
          flush();
        },
        (cause: unknown) => {
          writing = 0;
          fail(new WriteFailed(cause));
        },
      );
    };
    body.on("data", (chunk: Buffer) => {
      const received = position.offset + writing + pendingBytes + chunk.byteLength;
      if (options.size !== undefined && received > options.size) {
        fail(
          new DigestMismatchError(
            `Blob ${digest} is longer than its descriptor's ${options.size} bytes`,
            digest,
            "(too long)",
          ),
        );
        return;
      }
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      if (pendingBytes >= PENDING_BYTES) body.pause();
      flush();
    });
    body.once("end", () => {
      ended = true;
      flush();
    });
    body.once("error", fail);
    body.once("close", () => {
      if (!ended) fail(new Error("the body closed before its end"));
    });
  });
}

/** Bytes received and not yet written before the body is paused. */
const PENDING_BYTES = 2 * 1024 * 1024;

/** The file refused a write (see {@link pullBlobToFile}'s resume rule). */
class WriteFailed {
  constructor(readonly cause: unknown) {}
}

/** Appends all of `chunks` (`bytes` in all; a write may take less than it is given). */
async function writevAll(file: FileHandle, chunks: Buffer[], bytes: number): Promise<void> {
  let { bytesWritten } = await file.writev(chunks);
  while (bytesWritten < bytes) {
    const rest = Buffer.concat(chunks).subarray(bytesWritten);
    chunks = [rest];
    bytes = rest.length;
    ({ bytesWritten } = await file.writev(chunks));
  }
}

async function hashExisting(
  path: string,
  digester: ReturnType<typeof createDigester>,
  size: number | undefined,
): Promise<number> {
  let existing: number;
  try {
    existing = (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  if (size !== undefined && existing > size) {
    await rm(path, { force: true });
    return 0;
  }
  for await (const chunk of createReadStream(path)) digester.update(chunk as Buffer);
  return existing;
}

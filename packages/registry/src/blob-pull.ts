import { createReadStream } from "node:fs";
import { type FileHandle, open, rm, stat } from "node:fs/promises";
import createDebug from "debug";
import { createDigester } from "./digest.js";
import { DigestMismatchError, RegistryProtocolError, RegistryUnreachableError } from "./errors.js";
import type { HttpSession } from "./http.js";

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
 * {@link DigestMismatchError} thrown, so a bad prefix is never resumed twice.
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
  const file = await open(path, offset > 0 ? "a" : "w");
  try {
    while (options.size === undefined || offset < options.size) {
      const response = await http.request({
        method: "GET",
        path: `${repository}/blobs/${digest}`,
        scopes: [`repository:${repository}:pull`],
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        expect: [200, 206, 416],
        ...(options.signal ? { signal: options.signal } : {}),
        what,
      });
      if (response.status === 416) {
        await response.body?.cancel();
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

async function appendBody(
  response: Response,
  file: FileHandle,
  digester: ReturnType<typeof createDigester>,
  position: { offset: number },
  options: PullBlobOptions,
  digest: string,
): Promise<void> {
  if (!response.body)
    throw new RegistryProtocolError(`The registry sent no body for blob ${digest}.`);
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (options.size !== undefined && position.offset + chunk.byteLength > options.size) {
      throw new DigestMismatchError(
        `Blob ${digest} is longer than its descriptor's ${options.size} bytes`,
        digest,
        "(too long)",
      );
    }
    // Hash only what reached the file, so a resume continues the same hash.
    await file.write(chunk);
    digester.update(chunk);
    position.offset += chunk.byteLength;
    options.onProgress?.(chunk.byteLength);
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

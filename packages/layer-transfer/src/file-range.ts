import type { FileHandle } from "node:fs/promises";
import { createDigester } from "@strata/registry";

type Digester = ReturnType<typeof createDigester>;

/** Bytes read per call when hashing a file range: large reads keep the syscall count low. */
const READ_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * SHA-256 of `length` bytes of an open file from `offset` (`sha256:<hex>`), read in
 * {@link READ_BUFFER_BYTES} pieces; `alsoInto` (a running hash of a larger range) is fed the
 * same bytes. Returns fewer bytes than asked when the file ends first.
 */
export async function hashFileRange(
  file: FileHandle,
  offset: number,
  length: number,
  signal?: AbortSignal,
  alsoInto?: Digester,
): Promise<{ digest: string; length: number }> {
  const digester = createDigester();
  const buffer = Buffer.allocUnsafe(Math.min(READ_BUFFER_BYTES, Math.max(length, 1)));
  let done = 0;
  while (done < length) {
    signal?.throwIfAborted();
    const want = Math.min(buffer.length, length - done);
    const { bytesRead } = await file.read(buffer, 0, want, offset + done);
    if (bytesRead === 0) break;
    digester.update(buffer.subarray(0, bytesRead));
    alsoInto?.update(buffer.subarray(0, bytesRead));
    done += bytesRead;
  }
  return { digest: digester.digest(), length: done };
}

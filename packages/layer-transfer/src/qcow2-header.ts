import { open } from "node:fs/promises";

/** What a qcow2 header says about files outside the image. */
export interface Qcow2Header {
  readonly version: number;
  readonly backingFile?: string;
  /** From the backing format header extension. */
  readonly backingFormat?: string;
  /** True when the image keeps its data in an external file (incompatible feature bit 2 or its extension). */
  readonly externalData: boolean;
}

/** Bytes read from the start of an image to parse its header, extensions and backing name. */
export const QCOW2_HEADER_BYTES = 64 * 1024;

const MAGIC = 0x514649fb;
const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_DATA_FILE = 0x44415441;
const INCOMPAT_DATA_FILE = 1n << 2n;

/**
 * Parses a qcow2 header from its first bytes, without qemu: a hostile image must be judged
 * before any tool opens it, since opening may follow a backing or data file to a host path.
 * Returns a reason string when the bytes are not a qcow2 header this code can read.
 */
export function parseQcow2Header(bytes: Buffer): Qcow2Header | string {
  if (bytes.length < 72 || bytes.readUInt32BE(0) !== MAGIC) return "not a qcow2 image";
  const version = bytes.readUInt32BE(4);
  if (version !== 2 && version !== 3) return `qcow2 version ${version} is not supported`;
  const backingOffset = bytes.readBigUInt64BE(8);
  const backingSize = bytes.readUInt32BE(16);
  let backingFile: string | undefined;
  if (backingOffset !== 0n && backingSize !== 0) {
    const end = backingOffset + BigInt(backingSize);
    if (end > BigInt(bytes.length) || backingSize > 1023)
      return "the backing file name is out of range";
    backingFile = bytes.subarray(Number(backingOffset), Number(end)).toString("utf8");
  }
  let externalData = false;
  let headerLength = 72;
  if (version === 3) {
    if (bytes.length < 104) return "truncated qcow2 v3 header";
    externalData = (bytes.readBigUInt64BE(72) & INCOMPAT_DATA_FILE) !== 0n;
    headerLength = bytes.readUInt32BE(100);
    if (headerLength < 104 || headerLength > bytes.length) return "bad qcow2 header length";
  }
  let backingFormat: string | undefined;
  // Header extensions follow the header, each: type (u32), length (u32), data padded to 8.
  for (let at = headerLength; ; ) {
    if (at + 8 > bytes.length) return "the header extensions run past the bytes read";
    const type = bytes.readUInt32BE(at);
    const length = bytes.readUInt32BE(at + 4);
    if (type === EXT_END) break;
    const data = at + 8;
    if (data + length > bytes.length) return "a header extension runs past the bytes read";
    if (type === EXT_BACKING_FORMAT)
      backingFormat = bytes.subarray(data, data + length).toString("utf8");
    if (type === EXT_DATA_FILE) externalData = true;
    at = data + Math.ceil(length / 8) * 8;
  }
  return {
    version,
    ...(backingFile === undefined ? {} : { backingFile }),
    ...(backingFormat === undefined ? {} : { backingFormat }),
    externalData,
  };
}

/** Reads and parses the header of the qcow2 image at `path`. */
export async function readQcow2Header(path: string): Promise<Qcow2Header | string> {
  const file = await open(path, "r");
  try {
    const buffer = Buffer.alloc(QCOW2_HEADER_BYTES);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    return parseQcow2Header(buffer.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}

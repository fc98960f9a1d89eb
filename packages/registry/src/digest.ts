import { createHash, type Hash } from "node:crypto";
import { DigestMismatchError } from "./errors.js";

/** `sha256:<hex>` of some bytes. */
export function digestOf(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Incremental SHA-256 that ends in a `sha256:<hex>` digest. */
export function createDigester(): {
  update(chunk: Uint8Array): void;
  digest(): string;
  hash: Hash;
} {
  const hash = createHash("sha256");
  return {
    hash,
    update: (chunk) => {
      hash.update(chunk);
    },
    digest: () => `sha256:${hash.digest("hex")}`,
  };
}

/** Throws {@link DigestMismatchError} unless `data` hashes to `expected`. */
export function verifyDigest(what: string, data: Uint8Array, expected: string): void {
  const actual = digestOf(data);
  if (actual !== expected) throw new DigestMismatchError(what, expected, actual);
}

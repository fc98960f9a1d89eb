import { createHash } from "node:crypto";
import type { ServerHostKeyAlgorithm } from "ssh2";

/** A host key to accept, and nothing else. */
export interface PinnedHostKey {
  /** The key's type, e.g. "ssh-ed25519". */
  type: string;
  /** The key in SSH wire format (what the server sends). */
  blob: Buffer;
  /** ssh2's host key algorithm names that use this type of key. */
  algorithms: ServerHostKeyAlgorithm[];
  /** OpenSSH's SHA256 fingerprint of the pinned key. */
  fingerprint: string;
  fingerprintOf(blob: Buffer): string;
}

const ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  // An RSA key signs with any of these; OpenSSH servers prefer the SHA-2 ones.
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

/** OpenSSH's `SHA256:...` fingerprint of a key blob. */
export function hostKeyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/**
 * Reads an OpenSSH public key line (`TYPE BASE64 [comment]`, as in `ssh_host_ed25519_key.pub`
 * or a manifest's `ssh.hostKey`). Undefined when it is not one: an unknown type, or a blob
 * that does not name its own type.
 */
export function parseHostKey(line: string): PinnedHostKey | undefined {
  const [type, b64] = line.trim().split(/\s+/);
  if (!type || !b64 || !Object.hasOwn(ALGORITHMS, type) || !/^[A-Za-z0-9+/]+=*$/.test(b64))
    return undefined;
  const blob = Buffer.from(b64, "base64");
  // The blob starts with its own type as an SSH string: a cheap check that it is a key.
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (len !== type.length || blob.subarray(4, 4 + len).toString() !== type) return undefined;
  return {
    type,
    blob,
    algorithms: ALGORITHMS[type]!,
    fingerprint: hostKeyFingerprint(blob),
    fingerprintOf: hostKeyFingerprint,
  };
}

import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SshKeyError } from "./errors.js";
import { ssh2 } from "./ssh2-lazy.js";

export interface KeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  /** The public key as one OpenSSH line (`ssh-ed25519 AAAA... comment`), for authorized_keys. */
  publicKey: string;
}

export interface EnsureKeyPairOptions {
  /** File name of the private key in `dir`. @default "id_ed25519" */
  name?: string;
  /** @default "strata" */
  comment?: string;
}

/** The OpenSSH public-key line of a private key (in any format ssh2 reads). */
export function publicKeyLine(privateKey: string | Buffer, comment = ""): string {
  const parsed = ssh2().utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new SshKeyError(key?.message ?? "empty");
  return `${key.type} ${key.getPublicSSH().toString("base64")}${comment ? ` ${comment}` : ""}`;
}

/**
 * The store's ed25519 key pair in `dir`, generated on first use (private key mode 0600, directory
 * 0700). Created with `wx`, so two processes racing to create it keep the first one's key.
 */
export async function ensureKeyPair(
  dir: string,
  options: EnsureKeyPairOptions = {},
): Promise<KeyPair> {
  const name = options.name ?? "id_ed25519";
  const comment = options.comment ?? "strata";
  const privateKeyPath = join(dir, name);
  const publicKeyPath = `${privateKeyPath}.pub`;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pair = ssh2().utils.generateKeyPairSync("ed25519", { comment });
  try {
    await writeFile(privateKeyPath, pair.private, { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  // Whoever created it, make sure nobody else can read it (ssh refuses keys readable by others).
  await chmod(privateKeyPath, 0o600);
  const publicKey = publicKeyLine(await readFile(privateKeyPath), comment);
  await writeFile(publicKeyPath, `${publicKey}\n`, { mode: 0o644 });
  return { privateKeyPath, publicKeyPath, publicKey };
}

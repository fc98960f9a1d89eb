import { randomBytes } from "node:crypto";
import { chmod, link, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
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

/** Tries before {@link generateEd25519Pair} gives up: a bad pair comes about once in 256. */
const KEYGEN_ATTEMPTS = 16;

/**
 * A new ed25519 key pair in OpenSSH format. ssh2 1.17 strips leading zero bytes from the public
 * key, so about one pair in 256 it generates cannot be parsed back, by itself or by OpenSSH
 * (mscdex/ssh2#1513): such a pair is thrown away and another one made.
 */
export function generateEd25519Pair(comment = ""): { private: string; public: string } {
  const { utils } = ssh2();
  for (let attempt = 1; attempt <= KEYGEN_ATTEMPTS; attempt++) {
    const pair = utils.generateKeyPairSync("ed25519", { comment });
    const parsed = [utils.parseKey(pair.private), utils.parseKey(pair.public)];
    if (!parsed.some((k) => k instanceof Error)) return pair;
  }
  throw new SshKeyError(`ssh2 made ${KEYGEN_ATTEMPTS} unreadable ed25519 keys in a row`);
}

/** A temp file name beside `path` (same file system, so link and rename are atomic). */
function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
}

/**
 * Creates the key file `path` holding `make()` (mode 0600) unless it exists, and returns what the
 * file holds afterwards; `make` runs only when the file is missing. The data is written whole to
 * a temp file first and then hard-linked into place, so a process racing to create the same file
 * either wins or reads the winner's complete file, never a half-written one (what
 * `writeFile(..., { flag: "wx" })` would show it).
 */
export async function createKeyFileOnce(
  path: string,
  make: () => string | Buffer,
): Promise<Buffer> {
  const existing = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (existing === undefined) {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temp = tempBeside(path);
    try {
      await writeFile(temp, make(), { mode: 0o600, flag: "wx" });
      await link(temp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    } finally {
      await rm(temp, { force: true });
    }
  }
  // Whoever created it, make sure nobody else can read it (ssh refuses keys readable by others).
  await chmod(path, 0o600);
  return existing ?? readFile(path);
}

/**
 * The store's ed25519 key pair in `dir`, generated on first use (private key mode 0600, directory
 * 0700). Two processes racing to create it both end up with the first one's key. The `.pub`
 * file is rewritten (atomically) only when it is missing or does not match the private key.
 */
export async function ensureKeyPair(
  dir: string,
  options: EnsureKeyPairOptions = {},
): Promise<KeyPair> {
  const name = options.name ?? "id_ed25519";
  const comment = options.comment ?? "strata";
  const privateKeyPath = join(dir, name);
  const publicKeyPath = `${privateKeyPath}.pub`;
  const privateKey = await createKeyFileOnce(
    privateKeyPath,
    () => generateEd25519Pair(comment).private,
  );
  const publicKey = publicKeyLine(privateKey, comment);
  const onDisk = await readFile(publicKeyPath, "utf8").catch(() => undefined);
  if (onDisk !== `${publicKey}\n`) {
    const temp = tempBeside(publicKeyPath);
    try {
      await writeFile(temp, `${publicKey}\n`, { mode: 0o644, flag: "wx" });
      await rename(temp, publicKeyPath);
    } finally {
      await rm(temp, { force: true });
    }
  }
  return { privateKeyPath, publicKeyPath, publicKey };
}

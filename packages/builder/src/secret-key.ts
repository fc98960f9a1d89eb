import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createKeyFileOnce } from "@strata/ssh-transport";
import { BuildError } from "./errors.js";

/** File name, in the store's `keys/` directory, of the key secrets are hashed with. */
export const SECRET_KEY_FILE = "secret-hmac.key";
const KEY_BYTES = 32;

/**
 * The store's random key for hashing secret values into layer IDs, created on first use (mode
 * 0600). Two processes racing to create it both use the first one's key.
 * A keyed hash means nobody who sees layer IDs can test guesses of a secret offline; the price
 * is that the IDs of steps with secrets differ from store to store.
 */
export async function ensureSecretKey(keysDir: string): Promise<Buffer> {
  const path = join(keysDir, SECRET_KEY_FILE);
  const key = await createKeyFileOnce(path, () => randomBytes(KEY_BYTES));
  if (key.length !== KEY_BYTES)
    throw new BuildError(
      "SECRET_KEY_INVALID",
      `${path} holds ${key.length} bytes, not ${KEY_BYTES}: remove it to make a new key (layer IDs of steps with secrets then change)`,
    );
  return key;
}

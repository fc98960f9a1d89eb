import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initialContext } from "./build-context.js";
import { baseLayerId, runLayerId } from "./layer-id.js";
import { ensureSecretKey, SECRET_KEY_FILE } from "./secret-key.js";
import { secretDigest } from "./secrets.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-secret-key-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const value = Buffer.from("correct horse battery staple\n");
const idIn = async (keysDir: string) => {
  const key = await ensureSecretKey(keysDir);
  const digest = secretDigest("token", "/run/secrets/token", value, key);
  return runLayerId(baseLayerId("debian"), initialContext("linux"), "make", [], [digest]);
};

describe("ensureSecretKey and layer IDs of steps with secrets", () => {
  it("same secret in two stores: different IDs; in the same store: the same ID", async () => {
    const a = join(dir, "a", "keys");
    const b = join(dir, "b", "keys");
    const idA = await idIn(a);
    expect(await idIn(a)).toBe(idA);
    expect(await idIn(b)).not.toBe(idA);
  });
  it("keeps the key private (0600) and never puts the plain SHA-256 of the value in the ID", async () => {
    const keys = join(dir, "c", "keys");
    const key = await ensureSecretKey(keys);
    expect(key.length).toBe(32);
    expect((await stat(join(keys, SECRET_KEY_FILE))).mode & 0o777).toBe(0o600);
    const d = secretDigest("token", "/t", value, key);
    const { createHash } = await import("node:crypto");
    expect(d.hmac).not.toBe(createHash("sha256").update(value).digest("hex"));
    expect(JSON.stringify(d)).not.toContain(value.toString().trim());
  });
  it("two processes racing to create the key end up with one key", async () => {
    const keys = join(dir, "d", "keys");
    const [k1, k2] = await Promise.all([ensureSecretKey(keys), ensureSecretKey(keys)]);
    expect(k1.equals(k2)).toBe(true);
  });
  it("refuses a damaged key file with a code", async () => {
    const keys = join(dir, "e", "keys");
    await ensureSecretKey(keys);
    await writeFile(join(keys, SECRET_KEY_FILE), "short");
    await expect(ensureSecretKey(keys)).rejects.toMatchObject({ code: "SECRET_KEY_INVALID" });
  });
});

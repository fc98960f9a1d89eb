import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ensureKeyPair, publicKeyLine } from "./keys.js";

describe("ensureKeyPair", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("generates an ed25519 pair with mode 0600 once, then reuses it", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-keys-"));
    const keys = join(dir, "keys");
    const first = await ensureKeyPair(keys);
    expect((await stat(first.privateKeyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(keys)).mode & 0o777).toBe(0o700);
    expect(first.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ strata$/);
    expect((await readFile(first.publicKeyPath, "utf8")).trim()).toBe(first.publicKey);
    const [second, third] = await Promise.all([ensureKeyPair(keys), ensureKeyPair(keys)]);
    expect(second.publicKey).toBe(first.publicKey);
    expect(third.publicKey).toBe(first.publicKey);
    expect(publicKeyLine(await readFile(first.privateKeyPath))).toBe(
      first.publicKey.replace(/ strata$/, ""),
    );
  });
});

import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";
import { afterEach, describe, expect, it } from "vitest";
import { createKeyFileOnce, ensureKeyPair, generateEd25519Pair, publicKeyLine } from "./keys.js";

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

  it("32 racers on a fresh directory all read one whole key and leave no temp file", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-keys-"));
    const keys = join(dir, "keys");
    const pairs = await Promise.all(Array.from({ length: 32 }, () => ensureKeyPair(keys)));
    expect(new Set(pairs.map((p) => p.publicKey)).size).toBe(1);
    expect((await readdir(keys)).sort()).toEqual(["id_ed25519", "id_ed25519.pub"]);
  });

  it("racers writing large files never read a half-written one", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-keys-"));
    const path = join(dir, "keys", "big");
    // 4 MiB each: node writes that in several write(2) calls, so a reader could catch a prefix.
    const datas = Array.from({ length: 8 }, (_, i) => Buffer.alloc(4 << 20, i + 1));
    const read = await Promise.all(datas.map((d) => createKeyFileOnce(path, () => d)));
    const winner = datas.find((d) => d.equals(read[0] as Buffer));
    expect(winner).toBeDefined();
    for (const r of read) expect(r.equals(winner as Buffer)).toBe(true);
  });

  it("never hands out a pair that cannot be read back (ssh2 makes one in ~256)", () => {
    // With ssh2's generator alone, 3000 pairs hold a bad one with probability 1 - (255/256)^3000.
    for (let i = 0; i < 3000; i++) {
      const pair = generateEd25519Pair();
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
      expect(ssh2.utils.parseKey(pair.public)).not.toBeInstanceOf(Error);
    }
  });
});

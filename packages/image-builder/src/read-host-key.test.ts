import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readHostKey } from "./build-debian.js";

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function root(pub?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "strata-hostkey-"));
  dirs.push(dir);
  if (pub !== undefined) {
    await mkdir(join(dir, "etc/ssh"), { recursive: true });
    await writeFile(join(dir, "etc/ssh/ssh_host_ed25519_key.pub"), pub);
  }
  return dir;
}

describe("readHostKey (what the Debian recipe records in the manifest)", () => {
  it("takes the image's ed25519 host key without its comment", async () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0vYq3vq7d1x2V0bZ1kq3Yx6cHn7m5aXlq8o0gA2Q0k";
    expect(await readHostKey(await root(`${key} root@build-host\n`))).toBe(key);
  });
  it("records nothing when the image has no such key (the manifest then pins nothing)", async () => {
    expect(await readHostKey(await root())).toBeUndefined();
    expect(await readHostKey(await root("garbage\n"))).toBeUndefined();
  });
});

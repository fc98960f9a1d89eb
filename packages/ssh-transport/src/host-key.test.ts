import type { AddressInfo } from "node:net";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSsh, waitForSsh } from "./connect.js";
import { SshHostKeyMismatchError } from "./errors.js";
import { hostKeyFingerprint, parseHostKey } from "./host-key.js";
import { generateEd25519Pair, publicKeyLine } from "./keys.js";

const { Server, utils } = ssh2;

describe("parseHostKey", () => {
  it("reads OpenSSH lines and refuses what is not a key of its own type", () => {
    const pair = generateEd25519Pair();
    const line = publicKeyLine(pair.private, "root@strata");
    const key = parseHostKey(line)!;
    expect(key.type).toBe("ssh-ed25519");
    expect(key.algorithms).toEqual(["ssh-ed25519"]);
    expect(key.fingerprint).toBe(hostKeyFingerprint(key.blob));
    expect(key.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(parseHostKey("ssh-ed25519")).toBeUndefined();
    expect(parseHostKey("ssh-dss AAAAB3NzaC1kc3M=")).toBeUndefined();
    // A blob naming another type.
    expect(parseHostKey(`ssh-rsa ${line.split(" ")[1]}`)).toBeUndefined();
    expect(parseHostKey("ssh-rsa AAAAB3NzaC1yc2EAAA")?.algorithms).toContain("rsa-sha2-512");
  });
});

// A real SSH server (ssh2's) with its own host key, accepting any client key.
describe("host key pinning against a real SSH server", () => {
  const host = generateEd25519Pair();
  const client = generateEd25519Pair();
  let server: InstanceType<typeof Server>;
  let port: number;
  beforeAll(async () => {
    server = new Server({ hostKeys: [host.private] }, (conn) => {
      conn.on("error", () => {});
      conn.on("authentication", (ctx) =>
        ctx.method === "publickey" ? ctx.accept() : ctx.reject(),
      );
      conn.on("session", (accept) => {
        accept().on("exec", (acceptExec) => {
          const stream = acceptExec();
          stream.exit(0);
          stream.end();
        });
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => server.close());

  const base = () => ({ port, username: "u", privateKey: client.private });

  it("connects when the server's key is the pinned one", async () => {
    const session = await connectSsh({ ...base(), hostKey: publicKeyLine(host.private) });
    await session.close();
  });
  it("refuses another key at once, with a typed error naming both fingerprints", async () => {
    const other = publicKeyLine(generateEd25519Pair().private);
    const started = Date.now();
    const err = await waitForSsh({ ...base(), hostKey: other, timeoutMs: 60_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SshHostKeyMismatchError);
    expect((err as SshHostKeyMismatchError).code).toBe("SSH_HOST_KEY_MISMATCH");
    expect((err as Error).message).toContain(parseHostKey(other)!.fingerprint);
    expect((err as Error).message).toContain(
      parseHostKey(publicKeyLine(host.private))!.fingerprint,
    );
    // Not retried until the timeout.
    expect(Date.now() - started).toBeLessThan(20_000);
  });
  it("refuses a server without a key of the pinned type", async () => {
    const rsa = publicKeyLine(utils.generateKeyPairSync("rsa", { bits: 2048 }).private);
    await expect(connectSsh({ ...base(), hostKey: rsa })).rejects.toBeInstanceOf(
      SshHostKeyMismatchError,
    );
  });
  it("without a pinned key, accepts any (images built before keys were recorded)", async () => {
    const session = await connectSsh(base());
    await session.close();
  });
});

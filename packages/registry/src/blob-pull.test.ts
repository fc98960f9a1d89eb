import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "./client.js";
import { digestOf } from "./digest.js";
import { DigestMismatchError, InsecureRegistryError } from "./errors.js";

// Blob downloads go through undici's request API (not fetch): these tests hold its auth,
// redirect, resume and write-as-it-arrives behaviour against small scripted servers.

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const blob = randomBytes(3 * 1024 * 1024 + 5);
const digest = digestOf(blob);
const anonymous = async () => undefined;

describe("blob downloads", () => {
  let dir: string;
  const servers: Server[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-blob-pull-"));
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function serve(handler: Handler): Promise<string> {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("starts over at byte 0 when a resume's Range is ignored", async () => {
    const ranges: (string | undefined)[] = [];
    const registry = await serve((req, res) => {
      ranges.push(req.headers.range);
      res.writeHead(200, { "content-length": String(blob.length) });
      if (ranges.length === 1) {
        // The first answer breaks after 1 MiB, as a dropped connection would.
        res.write(blob.subarray(0, 1024 * 1024), () => res.socket?.destroy());
      } else res.end(blob);
    });
    const client = new RegistryClient({ registry, credentials: anonymous });
    const target = join(dir, "ignored-range");
    const result = await client.pullBlob("x", digest, target, { size: blob.length });
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=[1-9]\d*-$/);
    expect(result.resumes).toBe(1);
    expect((await readFile(target)).equals(blob)).toBe(true);
  });

  it("answers a Basic challenge and never carries the credentials to a redirect's other host", async () => {
    const seen: { cdn?: string | undefined; registry: (string | undefined)[] } = { registry: [] };
    const cdn = await serve((req, res) => {
      seen.cdn = req.headers.authorization;
      res.writeHead(200, { "content-length": String(blob.length) }).end(blob);
    });
    const registry = await serve((req, res) => {
      seen.registry.push(req.headers.authorization);
      if (!req.headers.authorization) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="test"' }).end();
      } else res.writeHead(307, { location: `http://${cdn}/storage/blob` }).end();
    });
    const client = new RegistryClient({
      registry,
      credentials: async () => ({ username: "alice", password: "wonder" }),
    });
    const target = join(dir, "redirected");
    await client.pullBlob("x", digest, target, { size: blob.length });
    expect((await readFile(target)).equals(blob)).toBe(true);
    expect(seen.registry).toEqual([
      undefined,
      `Basic ${Buffer.from("alice:wonder").toString("base64")}`,
    ]);
    expect(seen.cdn).toBeUndefined();
  });

  it("refuses a redirect to plain HTTP on another host", async () => {
    const registry = await serve((_req, res) => {
      res.writeHead(307, { location: "http://registry.example/v2/elsewhere" }).end();
    });
    const client = new RegistryClient({ registry, credentials: anonymous });
    await expect(client.pullBlob("x", digest, join(dir, "insecure"))).rejects.toThrow(
      InsecureRegistryError,
    );
  });

  it("puts what arrived before a stall in the file at once", async () => {
    const SENT = 300 * 1024;
    const registry = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(blob.length) });
      res.write(blob.subarray(0, SENT)); // and nothing more
    });
    const client = new RegistryClient({ registry, credentials: anonymous });
    const target = join(dir, "stalled");
    const stop = new AbortController();
    const pull = client.pullBlob("x", digest, target, { size: blob.length, signal: stop.signal });
    pull.catch(() => undefined);
    let size = 0;
    for (let i = 0; i < 200 && size < SENT; i++) {
      await new Promise((done) => setTimeout(done, 50));
      size = await stat(target).then(
        (s) => s.size,
        () => 0,
      );
    }
    stop.abort();
    await expect(pull).rejects.toThrow();
    expect(size).toBe(SENT);
    expect((await readFile(target)).equals(blob.subarray(0, SENT))).toBe(true);
  });

  it("refuses a body longer than the descriptor's size before writing past it", async () => {
    const registry = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(blob.length + 4096) });
      res.end(Buffer.concat([blob, randomBytes(4096)]));
    });
    const client = new RegistryClient({ registry, credentials: anonymous });
    const target = join(dir, "too-long");
    const error = await client
      .pullBlob("x", digest, target, { size: blob.length })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as Error).message).toContain("longer than its descriptor's");
    expect((await stat(target)).size).toBeLessThanOrEqual(blob.length);
  });
});

import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "./client.js";
import { digestOf } from "./digest.js";
import {
  DigestMismatchError,
  InsecureRegistryError,
  RegistryAuthError,
  RegistryNotFoundError,
  RegistryProtocolError,
  RegistryUnreachableError,
} from "./errors.js";
import { embedData, encodeManifest } from "./manifest.js";
import { OCI_EMPTY, OCI_MANIFEST, type OciManifest } from "./media-types.js";
import { startTestRegistry, type TestRegistry } from "./testing.js";

const anonymous = async () => undefined;

function blobOf(size: number) {
  const data = randomBytes(size);
  return { data, digest: digestOf(data), size };
}

describe("RegistryClient against a real docker-registry", () => {
  let registry: TestRegistry;
  let dir: string;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startTestRegistry();
    dir = await mkdtemp(join(tmpdir(), "strata-registry-client-"));
    client = new RegistryClient({ registry: registry.registry, credentials: anonymous });
  });
  afterAll(async () => {
    await registry?.[Symbol.asyncDispose]();
    await rm(dir, { recursive: true, force: true });
  });

  it("uses plain HTTP for loopback and pushes, skips and mounts blobs", async () => {
    expect(client.baseUrl).toBe(`http://${registry.registry}/v2/`);
    const blob = blobOf(3 * 1024 * 1024 + 17);
    let sent = 0;
    const first = await client.pushBlob("strata/a", blob, { onProgress: (n) => (sent += n) });
    expect(first.outcome).toBe("uploaded");
    expect(sent).toBe(blob.size);
    expect(await client.hasBlob("strata/a", blob.digest)).toBe(blob.size);
    expect((await client.pushBlob("strata/a", blob)).outcome).toBe("exists");
    expect(await client.hasBlob("strata/b", blob.digest)).toBeUndefined();
    const mounted = await client.pushBlob("strata/b", blob, { mountFrom: ["strata/a"] });
    expect(mounted.outcome).toBe("mounted");
    expect(await client.hasBlob("strata/b", blob.digest)).toBe(blob.size);
  });

  it("pushes a stream and pulls it back to a file, verified", async () => {
    const blob = blobOf(5 * 1024 * 1024);
    const source = join(dir, "source");
    await writeFile(source, blob.data);
    const { createReadStream } = await import("node:fs");
    await client.pushBlob("strata/a", {
      digest: blob.digest,
      size: blob.size,
      open: () => createReadStream(source),
    });
    const target = join(dir, "pulled");
    let received = 0;
    const result = await client.pullBlob("strata/a", blob.digest, target, {
      size: blob.size,
      onProgress: (n) => (received += n),
    });
    expect(result).toEqual({ size: blob.size, resumedFrom: 0, resumes: 0 });
    expect(received).toBe(blob.size);
    expect((await readFile(target)).equals(blob.data)).toBe(true);
  });

  it("resumes a pull from the prefix an interrupted pull left", async () => {
    const blob = blobOf(2 * 1024 * 1024);
    await client.pushBlob("strata/a", blob);
    const target = join(dir, "partial");
    await writeFile(target, blob.data.subarray(0, 1_000_000));
    const result = await client.pullBlob("strata/a", blob.digest, target, { size: blob.size });
    expect(result.resumedFrom).toBe(1_000_000);
    expect((await readFile(target)).equals(blob.data)).toBe(true);
  });

  it("deletes a corrupt prefix instead of resuming it twice", async () => {
    const blob = blobOf(1024 * 1024);
    await client.pushBlob("strata/a", blob);
    const target = join(dir, "corrupt");
    await writeFile(target, randomBytes(1000));
    await expect(
      client.pullBlob("strata/a", blob.digest, target, { size: blob.size }),
    ).rejects.toThrow(DigestMismatchError);
    await expect(stat(target)).rejects.toThrow(/ENOENT/);
    await client.pullBlob("strata/a", blob.digest, target, { size: blob.size });
    expect((await readFile(target)).equals(blob.data)).toBe(true);
  });

  it("puts, heads and gets a manifest by tag and by digest, and lists tags", async () => {
    const layer = blobOf(1000);
    const config = Buffer.from("{}");
    await client.pushBlob("strata/m", layer);
    await client.pushBlob("strata/m", {
      data: config,
      digest: digestOf(config),
      size: config.length,
    });
    const manifest: OciManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.test",
      config: { mediaType: OCI_EMPTY, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: "application/octet-stream", digest: layer.digest, size: layer.size }],
    };
    const bytes = encodeManifest(manifest);
    const digest = await client.putManifest("strata/m", "v1", bytes, OCI_MANIFEST);
    expect(digest).toBe(digestOf(bytes));
    expect(await client.headManifest("strata/m", "v1")).toEqual({ digest, size: bytes.length });
    expect(await client.headManifest("strata/m", "absent")).toBeUndefined();
    const byTag = await client.getManifest("strata/m", "v1");
    expect(byTag.bytes.equals(bytes)).toBe(true);
    expect(byTag.mediaType).toBe(OCI_MANIFEST);
    expect((await client.getManifest("strata/m", digest)).digest).toBe(digest);
    await expect(client.getManifest("strata/m", "absent")).rejects.toThrow(RegistryNotFoundError);
    expect(await client.listTags("strata/m")).toEqual(["v1"]);
    expect(await client.listTags("strata/none")).toEqual([]);
    expect((await client.readBlob("strata/m", digestOf(config))).toString()).toBe("{}");
  });

  it("resumes with Range when the connection drops mid-blob", async () => {
    const blob = blobOf(4 * 1024 * 1024);
    await client.pushBlob("strata/a", blob);
    // A proxy that cuts the first blob response after 1 MiB, as a dropped connection would.
    let cut = false;
    const ranges: (string | undefined)[] = [];
    const proxy = createServer((req, res) => {
      if (req.url?.includes("/blobs/")) ranges.push(req.headers.range);
      const upstream = httpRequest(
        {
          host: "127.0.0.1",
          port: registry.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          let sent = 0;
          up.on("data", (chunk: Buffer) => {
            if (
              !cut &&
              req.method === "GET" &&
              req.url?.includes("/blobs/") &&
              sent + chunk.length > 1024 * 1024
            ) {
              cut = true;
              res.write(chunk.subarray(0, 1024 * 1024 - sent));
              res.socket?.destroy();
              up.destroy();
              return;
            }
            sent += chunk.length;
            res.write(chunk);
          });
          up.on("end", () => res.end());
        },
      );
      req.pipe(upstream);
    });
    await listen(proxy);
    try {
      const viaProxy = new RegistryClient({
        registry: `127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        credentials: anonymous,
      });
      const target = join(dir, "dropped");
      const result = await viaProxy.pullBlob("strata/a", blob.digest, target, { size: blob.size });
      expect(result.resumes).toBe(1);
      // The second request asks for the rest after what reached the file before the cut.
      expect(ranges).toHaveLength(2);
      expect(ranges[0]).toBeUndefined();
      const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? "")?.[1]);
      expect(resumedAt).toBeGreaterThan(0);
      expect(resumedAt).toBeLessThanOrEqual(1024 * 1024);
      expect((await readFile(target)).equals(blob.data)).toBe(true);
    } finally {
      proxy.close();
    }
  });

  it("says the registry is unreachable when it is stopped", async () => {
    const blob = blobOf(10);
    await registry.stop();
    try {
      const quick = new RegistryClient({
        registry: registry.registry,
        credentials: anonymous,
        retries: 0,
      });
      const error = await quick.hasBlob("strata/a", blob.digest).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryUnreachableError);
      expect((error as RegistryUnreachableError).code).toBe("REGISTRY_UNREACHABLE");
    } finally {
      await registry.start();
    }
  });

  it("bounds the blob transfers in flight", async () => {
    const blobs = Array.from({ length: 8 }, () => blobOf(512 * 1024));
    let inFlight = 0;
    let peak = 0;
    const countingFetch: typeof fetch = async (input, init) => {
      if (init?.method !== "PUT") return fetch(input, init);
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      try {
        return await fetch(input, init);
      } finally {
        inFlight -= 1;
      }
    };
    const narrow = new RegistryClient({
      registry: registry.registry,
      credentials: anonymous,
      concurrency: 2,
      fetch: countingFetch,
    });
    const results = await Promise.all(blobs.map((blob) => narrow.pushBlob("strata/c", blob)));
    expect(results.map((r) => r.outcome)).toEqual(blobs.map(() => "uploaded"));
    expect(peak).toBe(2);
  });

  it("bounds the blob downloads in flight until each has ended", async () => {
    const blobs = Array.from({ length: 6 }, () => blobOf(2 * 1024 * 1024));
    await Promise.all(blobs.map((blob) => client.pushBlob("strata/d", blob)));
    const narrow = new RegistryClient({
      registry: registry.registry,
      credentials: anonymous,
      concurrency: 2,
    });
    // A download counts from its first bytes to its end; a slot freed when it only started
    // would let all six receive at once.
    const receiving = new Set<number>();
    let peak = 0;
    await Promise.all(
      blobs.map((blob, i) =>
        narrow
          .pullBlob("strata/d", blob.digest, join(dir, `bounded-${i}`), {
            size: blob.size,
            onProgress: () => {
              receiving.add(i);
              peak = Math.max(peak, receiving.size);
            },
          })
          .then(() => receiving.delete(i)),
      ),
    );
    expect(peak).toBe(2);
  });
});

describe("RegistryClient with the token flow", () => {
  let registry: TestRegistry;
  let dir: string;
  beforeAll(async () => {
    registry = await startTestRegistry({ users: { alice: "wonder" } });
    dir = await mkdtemp(join(tmpdir(), "strata-registry-auth-"));
  });
  afterAll(async () => {
    await registry?.[Symbol.asyncDispose]();
    await rm(dir, { recursive: true, force: true });
  });

  it("trades Docker-config credentials for a bearer token per scope", async () => {
    const { dockerConfigCredentials } = await import("./credentials.js");
    await writeFile(
      join(dir, "config.json"),
      JSON.stringify({
        auths: { [registry.registry]: { auth: Buffer.from("alice:wonder").toString("base64") } },
      }),
    );
    const client = new RegistryClient({
      registry: registry.registry,
      credentials: dockerConfigCredentials({ configPath: join(dir, "config.json") }),
    });
    const blob = blobOf(100_000);
    expect((await client.pushBlob("team/x", blob)).outcome).toBe("uploaded");
    expect((await client.pushBlob("team/y", blob, { mountFrom: ["team/x"] })).outcome).toBe(
      "mounted",
    );
    const target = join(dir, "blob");
    await client.pullBlob("team/y", blob.digest, target);
    expect((await readFile(target)).equals(blob.data)).toBe(true);
    expect(registry.tokenRequests.every((r) => r.user === "alice")).toBe(true);
    expect(registry.tokenRequests.map((r) => r.scopes)).toContainEqual([
      "repository:team/y:pull,push",
      "repository:team/x:pull",
    ]);
  });

  it("says which credential is missing on a 401", async () => {
    const client = new RegistryClient({ registry: registry.registry, credentials: anonymous });
    const error = await client
      .hasBlob("team/x", `sha256:${"0".repeat(64)}`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as RegistryAuthError).message).toContain(`"${registry.registry}"`);
    expect((error as RegistryAuthError).message).toContain("none were found");
    const wrong = new RegistryClient({
      registry: registry.registry,
      credentials: async () => ({ username: "alice", password: "nope" }),
    });
    const refused = await wrong
      .hasBlob("team/x", `sha256:${"0".repeat(64)}`)
      .catch((e: unknown) => e);
    expect((refused as RegistryAuthError).code).toBe("REGISTRY_AUTH");
    expect((refused as RegistryAuthError).message).toContain("refused the credentials");
  });
});

describe("RegistryClient against a hostile server", () => {
  let server: Server;
  let registry: string;
  let dir: string;
  const good = blobOf(4096);
  const evil = randomBytes(4096);
  let requests = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-registry-hostile-"));
    server = createServer((req, res) => {
      requests++;
      if (req.url?.startsWith("/v2/x/blobs/")) {
        res.writeHead(200, { "content-length": String(evil.length) }).end(evil);
      } else if (req.url?.startsWith("/v2/x/manifests/")) {
        res
          .writeHead(200, { "content-type": OCI_MANIFEST, "docker-content-digest": good.digest })
          .end("{}");
      } else if (req.url?.startsWith("/v2/redirect/")) {
        res.writeHead(307, { location: "http://registry.example/v2/elsewhere" }).end();
      } else {
        res.writeHead(404).end();
      }
    });
    await listen(server);
    registry = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a blob whose bytes do not match its digest and keeps nothing", async () => {
    const client = new RegistryClient({ registry, credentials: anonymous });
    const target = join(dir, "blob");
    const error = await client.pullBlob("x", good.digest, target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as DigestMismatchError).code).toBe("REGISTRY_DIGEST_MISMATCH");
    await expect(stat(target)).rejects.toThrow(/ENOENT/);
    await expect(client.readBlob("x", good.digest)).rejects.toThrow(DigestMismatchError);
  });

  it("refuses a manifest whose bytes do not match the digest asked for or announced", async () => {
    const client = new RegistryClient({ registry, credentials: anonymous });
    await expect(client.getManifest("x", good.digest)).rejects.toThrow(DigestMismatchError);
    await expect(client.getManifest("x", "tag")).rejects.toThrow(DigestMismatchError);
  });

  it("reads embedded data without a request, and refuses embedded data that does not match", async () => {
    const client = new RegistryClient({ registry, credentials: anonymous });
    const descriptor = { mediaType: "application/octet-stream", digest: good.digest, size: 4096 };
    const before = requests;
    expect(await client.readDescribed("x", embedData(descriptor, good.data))).toEqual(good.data);
    expect(requests).toBe(before);
    // Another blob's bytes under this digest; the same bytes in a non-canonical spelling; fewer
    // bytes than declared; more than the caller reads into memory.
    const lies = [
      { ...descriptor, data: evil.toString("base64") },
      { ...descriptor, data: `${good.data.toString("base64")}\n` },
      { ...descriptor, data: good.data.subarray(0, 4000).toString("base64") },
    ];
    await expect(client.readDescribed("x", lies[0]!)).rejects.toThrow(DigestMismatchError);
    await expect(client.readDescribed("x", lies[1]!)).rejects.toThrow(RegistryProtocolError);
    await expect(client.readDescribed("x", lies[2]!)).rejects.toThrow(/not 4096 bytes of base64/);
    await expect(
      client.readDescribed("x", embedData(descriptor, good.data), { maxBytes: 1024 }),
    ).rejects.toThrow(/more than the 1024 read into memory/);
    expect(requests).toBe(before);
    // Without data it is fetched (and this server's bytes are refused).
    await expect(client.readDescribed("x", descriptor)).rejects.toThrow(DigestMismatchError);
    expect(requests).toBe(before + 1);
  });

  it("never follows a redirect to plain HTTP on another host", async () => {
    const client = new RegistryClient({ registry, credentials: anonymous });
    await expect(client.readBlob("redirect", good.digest)).rejects.toThrow(InsecureRegistryError);
  });

  it("uses HTTPS for other hosts unless told the registry is insecure", () => {
    expect(
      new RegistryClient({ registry: "registry.example:5000", credentials: anonymous }).baseUrl,
    ).toBe("https://registry.example:5000/v2/");
    expect(
      new RegistryClient({
        registry: "registry.example:5000",
        credentials: anonymous,
        insecure: true,
      }).baseUrl,
    ).toBe("http://registry.example:5000/v2/");
  });
});

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
}

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadFile, fetchPublishedSha256, parseSha256Sums } from "./download.js";
import type { ImageProgress } from "./progress.js";

const image = randomBytes(3 * 1024 * 1024 + 17);
const sum = createHash("sha256").update(image).digest("hex");

describe("parseSha256Sums", () => {
  it("reads text and binary mode lines and skips the rest", () => {
    const sums = parseSha256Sums(`${sum} *noble.img\n${"a".repeat(64)}  other.img\ngarbage\n`);
    expect(sums.get("noble.img")).toBe(sum);
    expect(sums.get("other.img")).toBe("a".repeat(64));
    expect(sums.size).toBe(2);
  });
});

describe("downloadFile against a local HTTP server", () => {
  let server: Server;
  let base = "";
  let dir = "";
  const ranges: (string | undefined)[] = [];
  let breakAfter: number | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-dl-"));
    server = createServer((req, res) => {
      if (req.url === "/SHA256SUMS")
        return res.end(`${sum} *noble.img\n${"0".repeat(64)} *bad.img\n`);
      ranges.push(req.headers.range);
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? 0);
      if (from >= image.length) return res.writeHead(416).end();
      const body = image.subarray(from);
      res.writeHead(from ? 206 : 200, {
        "content-length": body.length,
        ...(from ? { "content-range": `bytes ${from}-${image.length - 1}/${image.length}` } : {}),
      });
      if (breakAfter !== undefined) {
        // A dropped connection half-way: the client sees a body shorter than content-length.
        res.write(body.subarray(0, breakAfter), () => res.destroy());
        breakAfter = undefined;
      } else res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it("finds the published sum", async () => {
    expect(await fetchPublishedSha256(`${base}/SHA256SUMS`, "noble.img")).toBe(sum);
    await expect(fetchPublishedSha256(`${base}/SHA256SUMS`, "missing.img")).rejects.toMatchObject({
      code: "IMAGE_DOWNLOAD_FAILED",
    });
  });

  it("downloads and verifies, with byte progress", async () => {
    const events: ImageProgress[] = [];
    const dest = join(dir, "good.img");
    const r = await downloadFile({
      url: `${base}/noble.img`,
      dest,
      sha256: sum,
      onProgress: (e) => events.push(e),
    });
    expect(r).toMatchObject({ fetched: image.length, resumedFrom: 0 });
    expect((await readFile(dest)).equals(image)).toBe(true);
    expect(events.at(-2)).toEqual({
      type: "bytes",
      stage: "download",
      done: image.length,
      total: image.length,
    });
    // Already there and right: nothing is fetched.
    expect((await downloadFile({ url: `${base}/noble.img`, dest, sha256: sum })).fetched).toBe(0);
  });

  it("deletes a download whose sum does not match", async () => {
    const dest = join(dir, "bad.img");
    const err = await downloadFile({ url: `${base}/bad.img`, dest, sha256: "0".repeat(64) }).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ code: "IMAGE_CHECKSUM_MISMATCH" });
    expect(err.message).toContain(sum);
    await expect(stat(`${dest}.part`)).rejects.toThrow();
    await expect(stat(dest)).rejects.toThrow();
  });

  it("keeps an interrupted download and resumes it with a Range request", async () => {
    const dest = join(dir, "resumed.img");
    ranges.length = 0;
    breakAfter = 1024 * 1024;
    const err = await downloadFile({ url: `${base}/noble.img`, dest, sha256: sum }).catch((e) => e);
    expect(err).toMatchObject({ code: "IMAGE_DOWNLOAD_FAILED" });
    const kept = (await stat(`${dest}.part`)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(image.length);
    const r = await downloadFile({ url: `${base}/noble.img`, dest, sha256: sum });
    expect(ranges).toEqual([undefined, `bytes=${kept}-`]);
    expect(r).toMatchObject({ resumedFrom: kept, fetched: image.length - kept });
    expect((await readFile(dest)).equals(image)).toBe(true);
  });

  it("verifies a part that is already whole (the server answers 416)", async () => {
    const dest = join(dir, "whole.img");
    await writeFile(`${dest}.part`, image);
    const r = await downloadFile({ url: `${base}/noble.img`, dest, sha256: sum });
    expect(r.fetched).toBe(0);
    expect((await readFile(dest)).equals(image)).toBe(true);
  });
});

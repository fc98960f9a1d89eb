import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { listIso } from "./iso.js";
import { startMetadataService } from "./metadata-service.js";
import { writeSeedIso } from "./nocloud-seed.js";

/** Sends one HTTP request the way the guest's does: through the relay QEMU would run. */
async function throughRelay(to: string, request: string): Promise<string> {
  const [node, relay, port] = to.replace(/^cmd:/, "").split(" ");
  const child = execFile(node!, [relay!, port!]);
  child.stdin!.end(request);
  let out = "";
  child.stdout!.on("data", (c: Buffer) => {
    out += c.toString();
  });
  await new Promise((r) => child.on("exit", r));
  return out;
}

describe("startMetadataService", () => {
  it("serves the seed, 404s the rest, and resolves phoneHome from the POST", async () => {
    await using svc = await startMetadataService({
      seed: { userData: "#cloud-config\n{}\n", metaData: "{}" },
    });
    expect(svc.guestForward).toMatchObject({ address: "10.0.2.254", port: 80 });
    const base = `http://127.0.0.1:${svc.port}`;
    expect(await (await fetch(`${base}/user-data`)).text()).toBe("#cloud-config\n{}\n");
    expect((await fetch(`${base}/vendor-data`)).status).toBe(200);
    expect((await fetch(`${base}/network-config`)).status).toBe(404);
    expect((await fetch(`${base}/../etc/passwd`)).status).toBe(404);
    const raw = await throughRelay(
      svc.guestForward.to,
      "POST /phone-home/i-9 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 26\r\nConnection: close\r\n\r\ninstance_id=i-9&hostname=h",
    );
    expect(raw).toMatch(/^HTTP\/1.1 200/);
    expect(await svc.phoneHome).toEqual({ instance_id: "i-9", hostname: "h" });
    expect(svc.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toContain(
      "POST /phone-home/i-9 200",
    );
  });
});

describe("writeSeedIso", () => {
  it("writes user-data, meta-data and network-config on a cidata volume", async () => {
    const dir = await mkdtemp(join(tmpdir(), "strata-seed-"));
    try {
      const iso = join(dir, "seed.iso");
      await writeSeedIso({
        outPath: iso,
        userData: "#cloud-config\n{}\n",
        metaData: "{}",
        networkConfig: "version: 2\n",
      });
      expect(await listIso(iso)).toEqual({
        volumeLabel: "cidata",
        files: ["meta-data", "network-config", "user-data"],
      });
      const { stdout } = await promisify(execFile)("xorriso", [
        "-osirrox",
        "on",
        "-indev",
        iso,
        "-extract",
        "/user-data",
        join(dir, "ud"),
      ]);
      void stdout;
      await writeSeedIso({ outPath: iso, userData: "x", metaData: "{}" });
      expect((await listIso(iso)).files).toEqual(["meta-data", "user-data"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

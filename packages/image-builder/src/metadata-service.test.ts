import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { listIso } from "./iso.js";
import { startMetadataService } from "./metadata-service.js";
import { writeSeedIso } from "./nocloud-seed.js";

/** Sends one HTTP request the way the guest's does: through the relay QEMU would run. */
async function throughRelay(to: string, request: string): Promise<string> {
  const [node, relay, socket] = to.replace(/^cmd:/, "").split(" ");
  const child = execFile(node!, [relay!, socket!]);
  child.stdin!.end(request);
  let out = "";
  child.stdout!.on("data", (c: Buffer) => {
    out += c.toString();
  });
  await new Promise((r) => child.on("exit", r));
  return out;
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
const post = (path: string, body: string) =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;

describe("startMetadataService", () => {
  it("serves the seed, 404s the rest, and only its own token's phone_home ends the boot", async () => {
    let url = "";
    await using svc = await startMetadataService({
      seed: (phoneHome) => {
        url = phoneHome;
        return { userData: `#cloud-config\nphone_home: {url: "${phoneHome}"}\n`, metaData: "{}" };
      },
    });
    expect(svc.guestForward).toMatchObject({ address: "10.0.2.254", port: 80 });
    expect(url).toBe(`http://10.0.2.254/phone-home/${svc.token}/$INSTANCE_ID`);
    expect(svc.token).toMatch(/^[0-9a-f]{32}$/);
    const to = svc.guestForward.to;
    expect(await throughRelay(to, get("/user-data"))).toContain(url);
    expect(await throughRelay(to, get("/vendor-data"))).toMatch(/^HTTP\/1.1 200/);
    expect(await throughRelay(to, get("/network-config"))).toMatch(/^HTTP\/1.1 404/);
    expect(await throughRelay(to, get("/../etc/passwd"))).toMatch(/^HTTP\/1.1 404/);
    let phoned = false;
    void svc.phoneHome.then(() => {
      phoned = true;
    });
    const body = "instance_id=i-9&hostname=h";
    for (const path of ["/phone-home/i-9", `/phone-home/${"0".repeat(32)}/i-9`])
      expect(await throughRelay(to, post(path, body))).toMatch(/^HTTP\/1.1 403/);
    await new Promise((r) => setTimeout(r, 50));
    expect(phoned).toBe(false);
    const raw = await throughRelay(to, post(`/phone-home/${svc.token}/i-9`, body));
    expect(raw).toMatch(/^HTTP\/1.1 200/);
    expect(await svc.phoneHome).toEqual({ instance_id: "i-9", hostname: "h" });
    // The token stays out of the request log (which becomes progress output).
    const log = svc.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
    expect(log).toContain("POST /phone-home/<token>/i-9 200");
    expect(log.join("\n")).not.toContain(svc.token);
  });

  it("listens on a unix socket in a private directory, not on a TCP port", async () => {
    await using svc = await startMetadataService({ seed: { userData: "x", metaData: "{}" } });
    expect((await stat(dirname(svc.socketPath))).mode & 0o777).toBe(0o700);
    expect((await stat(svc.socketPath)).isSocket()).toBe(true);
    await svc.close();
    await expect(stat(dirname(svc.socketPath))).rejects.toMatchObject({ code: "ENOENT" });
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

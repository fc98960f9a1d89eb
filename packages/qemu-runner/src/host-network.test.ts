import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BLOCKED_ROUTES,
  type HostNetwork,
  hostNetworkCommands,
  openHostNetwork,
  removeStaleHostNetwork,
} from "./host-network.js";
import { findFreePort } from "./ports.js";

describe("hostNetworkCommands", () => {
  it("blocks cloud metadata, maps no host loopback, and forwards only SSH from 127.0.0.1", () => {
    const cmds = hostNetworkCommands("strata-t", 2222, "/run/x/pasta.pid");
    expect(cmds).toContainEqual([
      "ip",
      "-n",
      "strata-t",
      "route",
      "add",
      "unreachable",
      "169.254.0.0/16",
    ]);
    const pasta = cmds.find((c) => c[0] === "pasta")!;
    expect(pasta).toContain("--no-map-gw");
    expect(pasta.join(" ")).toContain(
      "--tcp-ports 127.0.0.1/2222 --udp-ports none --tcp-ns none --udp-ns none",
    );
    expect(BLOCKED_ROUTES.ipv4).toContain("169.254.0.0/16");
  });
});

// The real thing, without a VM: a namespace as a `host` step's QEMU gets, probed from inside.
const root = process.getuid?.() === 0;
const probe = `
const net = require("node:net");
const [host, port] = process.argv.slice(1);
const s = net.connect(Number(port), host);
s.setTimeout(8000, () => { console.log("timeout"); process.exit(0); });
s.on("connect", () => { console.log("connected"); process.exit(0); });
s.on("error", (e) => { console.log(e.code); process.exit(0); });
`;

/** Runs node with `script` inside the namespace. */
function nodeInside(net: HostNetwork, script: string, ...args: string[]) {
  const argv = net.wrap([process.execPath, "-e", script, ...args]);
  return execa(argv[0]!, argv.slice(1));
}

describe.skipIf(!root)("openHostNetwork (root, pasta)", () => {
  let dir: string;
  let server: Server;
  let hostPort: number;
  let hits = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-netns-"));
    server = createServer((c) => {
      hits++;
      c.end("host loopback\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    hostPort = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reaches nothing on the host's loopback nor 169.254.169.254, and forwards SSH in", async () => {
    const sshPort = await findFreePort();
    const net = await openHostNetwork(sshPort, dir);
    try {
      const inside = async (host: string, port: number) =>
        (await nodeInside(net, probe, host, String(port))).stdout.trim();
      const routes = (await execa("ip", ["-n", net.name, "-4", "route"])).stdout;
      // 127.0.0.1 inside is the namespace's own loopback, where QEMU's slirp maps the guest's
      // 10.0.2.2. (pasta's gateway is not probed: with --no-map-gw it is the real router, and
      // tests send nothing off this host.)
      expect(await inside("127.0.0.1", hostPort)).toBe("ECONNREFUSED");
      expect(await inside("169.254.169.254", 80)).toBe("EHOSTUNREACH");
      expect(hits).toBe(0);
      // Outward access exists in principle: a default route through pasta's interface.
      expect(routes).toMatch(/^default via /m);
      // The SSH forward: host 127.0.0.1:sshPort reaches 127.0.0.1:sshPort inside.
      const listener = nodeInside(
        net,
        `require("node:net").createServer((c) => c.end("inside\\n")).listen(${sshPort}, "127.0.0.1", () => console.log("up"))`,
      );
      await new Promise<void>((r) => listener.stdout?.once("data", () => r()));
      const got = await new Promise<string>((resolve, reject) => {
        const c = connect(sshPort, "127.0.0.1");
        let out = "";
        c.on("data", (d: Buffer) => {
          out += d.toString();
        });
        c.on("end", () => resolve(out));
        c.on("error", reject);
      });
      expect(got).toBe("inside\n");
      listener.kill();
      await listener.catch(() => {});
    } finally {
      await net.close();
    }
    const list = (await execa("ip", ["netns", "list"])).stdout;
    expect(list).not.toContain(net.name);
  }, 120_000);
});

describe.skipIf(!root)("removeStaleHostNetwork (root)", () => {
  it("deletes the namespace a dead owner's run directory names, and its pasta quits", async () => {
    const dir = await mkdtemp(join(tmpdir(), "strata-netns-stale-"));
    try {
      const net = await openHostNetwork(await findFreePort(), dir);
      const pid = Number((await readFile(join(dir, "pasta.pid"), "utf8")).trim());
      expect((await execa("ip", ["netns", "list"])).stdout).toContain(net.name);
      await removeStaleHostNetwork(dir);
      expect((await execa("ip", ["netns", "list"])).stdout).not.toContain(net.name);
      // pasta notices its namespace is gone.
      for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(isAlive(pid)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The hostile guest, secrets and network: steps that really try to keep a secret (in a file,
// in RAM, in the output, in a process holding it open) and to reach the host's loopback
// services and cloud metadata, on the Debian test image. Few boots: most steps resume a
// saved state. Afterwards every file of the store (layers, logs, decompressed saved states) and
// everything the builds reported is searched for the secret.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { type BuildEvent, runBuild } from "@strata/builder";
import { parseSpecOrThrow } from "@strata/spec-parser";
import { parseHostKey } from "@strata/ssh-transport";
import { openStore } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStore, type TestStore } from "./support/test-store.js";

const hex = randomBytes(16).toString("hex");
const SECRET = Buffer.from(`STRATA-SECRET-${hex}\nsecond line ${hex.slice(0, 8)}\n`);
// What must never be found: the unique part of the value (both of its lines).
const NEEDLES = [Buffer.from(hex), Buffer.from(`second line ${hex.slice(0, 8)}`)];

/** A guest script line: tries TCP to each host:port, prints name=reached or name=blocked. */
function probe(targets: string): string {
  return `for t in ${targets}; do h=\${t%%:*}; r=\${t#*:}; p=\${r%%:*}; n=\${r#*:}; if timeout 8 bash -c 'exec 3<>/dev/tcp/$0/$1' $h $p 2>/dev/null; then echo $n=reached; else echo $n=blocked; fi; done`;
}

interface Outcome {
  id?: string;
  error?: { code?: string; message: string };
  events: BuildEvent[];
  /** When each event arrived (performance.now(), ms). */
  times: number[];
  output: string;
}

/** Searches a file (a decompressed stream for .zst) for any needle; returns the first found. */
async function findIn(path: string): Promise<string | undefined> {
  const keep = Math.max(...NEEDLES.map((n) => n.length));
  const child = path.endsWith(".zst") ? spawn("zstd", ["-dc", path]) : undefined;
  const source = child ? child.stdout : createReadStream(path);
  let tail = Buffer.alloc(0);
  for await (const chunk of source as AsyncIterable<Buffer>) {
    const data = Buffer.concat([tail, chunk]);
    const hit = NEEDLES.find((n) => data.includes(n));
    if (hit) {
      child?.kill();
      source.destroy();
      return hit.toString();
    }
    tail = data.subarray(Math.max(0, data.length - keep));
  }
  return undefined;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe("hostile guest: secrets and network", () => {
  let store: TestStore;
  let listener: Server;
  let listenerPort: number;
  const accepted: string[] = [];
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    store = await createTestStore("strata-hostile-net-");
    // A service on the host's loopback that no guest may reach.
    listener = createServer((c) => {
      accepted.push(`${c.remoteAddress}:${c.remotePort}`);
      c.end("host loopback service\n");
    });
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
    listenerPort = (listener.address() as { port: number }).port;
  });
  afterAll(async () => {
    listener?.close();
    await store?.[Symbol.asyncDispose]();
  });

  async function build(ops: string, keep = true): Promise<Outcome> {
    const events: BuildEvent[] = [];
    const times: number[] = [];
    const text = `((from debian-bookworm)\n (run (shell "echo base > /base; ${probe(`10.0.2.2:${listenerPort}:loopback 169.254.169.254:80:metadata`)}"))\n ${ops})\n`;
    await using s = await openStore({ root: store.root });
    const outcome: Outcome = { events, times, output: "" };
    try {
      outcome.id = await runBuild({
        store: s,
        spec: parseSpecOrThrow(text),
        contextDir: store.root,
        secrets: new Map([["token", SECRET]]),
        // Under TCG on a loaded machine a cold boot has taken over 300 s.
        bootTimeoutMs: 900_000,
        onEvent: (e) => {
          events.push(e);
          times.push(performance.now());
        },
      });
    } catch (err) {
      outcome.error = { code: (err as { code?: string }).code, message: (err as Error).message };
    }
    outcome.output = events.map((e) => (e.type === "output" ? e.chunk.toString() : "")).join("");
    if (keep) outcomes.push(outcome);
    return outcome;
  }
  const vms = (o: Outcome) => o.events.flatMap((e) => (e.type === "vm" ? [e] : []));
  // The leftover process runs as `sh -c SCRIPT leftover-42`: "leftover-42" is in its command
  // line only (the steps' command lines hold `leftover-$((6*7))` and the pattern
  // `leftover-4[2]`), so the count is of that process alone, never of a step's shell or grep.
  const LEFTOVER = "leftover-$((6*7))";
  const countLeftovers = (label: string) =>
    `ps -eo args | grep -c 'leftover-4[2]' | sed s/^/${label}=/`;
  const secretStep = (shell: string) =>
    `(run (secrets (token (target /run/secrets/token))) (shell "${shell}"))`;

  it("(network host) reaches neither the host's loopback (10.0.2.2) nor 169.254.169.254; restricted neither", async () => {
    const o = await build(
      `(run (network host) (shell "cat /etc/ssh/ssh_host_ed25519_key.pub; ip -4 route; grep nameserver /etc/resolv.conf; ${probe(`10.0.2.2:${listenerPort}:host-loopback 10.0.2.2:22:host-ssh 169.254.169.254:80:host-metadata`)}"))`,
    );
    expect(o.error).toBeUndefined();
    // The restricted first step, then the host step.
    expect(o.output).toContain("loopback=blocked");
    expect(o.output).toContain("metadata=blocked");
    expect(o.output).toContain("host-loopback=blocked");
    expect(o.output).toContain("host-ssh=blocked");
    expect(o.output).toContain("host-metadata=blocked");
    expect(o.output).not.toContain("=reached");
    // Outward access in principle: a default route and slirp's DNS (not used: no traffic
    // leaves this host in tests).
    expect(o.output).toMatch(/default via 10\.0\.2\.2/);
    expect(o.output).toContain("nameserver 10.0.2.3");
    expect(accepted).toEqual([]);
    hostKey = /^ssh-ed25519 \S+/m.exec(o.output)?.[0];
    expect(hostKey).toBeDefined();
  }, 1_800_000);

  let hostKey: string | undefined;
  it("refuses a guest whose SSH host key is not the manifest's, and accepts the recorded one", async () => {
    // The store's manifest is a hard link into the machine's image cache: replace, not edit.
    const path = join(store.root, "base-image", "debian-bookworm.json");
    const original = await readFile(path, "utf8");
    const withKey = (key: string) => {
      const json = JSON.parse(original);
      json.ssh = { ...json.ssh, hostKey: key };
      return `${JSON.stringify(json)}\n`;
    };
    const setManifest = async (text: string) => {
      await rm(path);
      await writeFile(path, text);
    };
    const other =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAv6D5oQ1uYxS1O2A5l0cQ3nE7Qh2M0bq2nQp0t4k1s9";
    try {
      await setManifest(withKey(other));
      const refused = await build(`(run (shell "echo pinned-1"))`, false);
      expect(refused.error?.code).toBe("SSH_HOST_KEY_MISMATCH");
      expect(refused.error?.message).toContain(parseHostKey(hostKey!)!.fingerprint);
      expect(refused.output).not.toContain("pinned-1");
      await setManifest(withKey(hostKey!));
      const accepted = await build(`(run (shell "echo pinned-2"))`, false);
      expect(accepted.error).toBeUndefined();
      expect(accepted.output).toContain("pinned-2");
    } finally {
      await setManifest(original);
    }
  }, 1_800_000);

  it("a step that copies its secret into a file (then deletes it) is not kept", async () => {
    const o = await build(
      secretStep("cp /run/secrets/token /root/copied && sync && rm /root/copied && echo copied"),
    );
    expect(o.error?.code).toBe("SECRET_LEAKED");
    expect(o.error?.message).toContain('secret "token"');
    expect(o.output).toContain("copied");
  }, 1_800_000);

  it("a step that leaves a process holding its secret open fails: the secret could not be removed", async () => {
    const o = await build(
      secretStep(
        "setsid sh -c 'exec 3< /run/secrets/token; exec sleep 600' > /dev/null 2>&1 < /dev/null & sleep 2; echo holding",
      ),
    );
    expect(o.error?.code).toBe("SECRET_REMOVE_FAILED");
    expect(o.output).toContain("holding");
  }, 1_800_000);

  it("a secret in the output, in /dev/shm and in a leftover process's memory: masked, no saved state, gone in the next step", async () => {
    const o = await build(
      `${secretStep(
        `cat /run/secrets/token; cp /run/secrets/token /dev/shm/kept; setsid sh -c 'v=$(cat /run/secrets/token); while :; do sleep 5; done' ${LEFTOVER} > /dev/null 2>&1 < /dev/null & sleep 1; ${countLeftovers("leftovers-during")}; ls -A /dev/shm | wc -l | sed s/^/shm-during=/; echo left-behind`,
      )}\n (run (shell "${countLeftovers("leftovers-after")}; ls -A /dev/shm | wc -l | sed s/^/shm-after=/; echo after"))`,
    );
    expect(o.error).toBeUndefined();
    expect(o.output).toContain("***");
    expect(o.output).toContain("left-behind");
    // The probes see the copy and the process while the secret step runs...
    expect(o.output).toContain("shm-during=1");
    expect(o.output).toContain("leftovers-during=1");
    // ...and neither in the next step, which booted from the disk.
    expect(o.output).toContain("shm-after=0");
    expect(o.output).toContain("leftovers-after=0");
    const boots = vms(o).filter((e) => e.how !== "powered-off");
    const offs = vms(o).filter((e) => e.how === "powered-off");
    expect(offs).toEqual([
      { type: "vm", how: "powered-off", ms: expect.any(Number), reason: "secrets" },
    ]);
    // The step after the secret step could not resume: it booted.
    expect(boots.at(-1)?.how).toBe("booted");
    const layer = join(store.root, "result", o.id!);
    await expect(stat(join(layer, "vmstate.zst"))).resolves.toBeDefined();
    // The figures for the README: the next step's cold boot (what powering off costs) against
    // the secret step's own resume (what a saved state would have given), the power-off, and
    // the layer search after it (until the next event).
    const off = o.events.findIndex((e) => e.type === "vm" && e.how === "powered-off");
    const searchSeconds = ((o.times[off + 1]! - o.times[off]!) / 1000).toFixed(1);
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `boots: ${boots.map((e) => `${e.how} in ${seconds(e.ms)}`).join(" | ")}; power-off: ${seconds(offs[0]!.ms)}; layer search: ${searchSeconds} s`,
    );
  }, 1_800_000);

  it("no file of the store (layers, logs, decompressed VM states) and nothing reported holds the secret", async () => {
    expect(outcomes.length).toBe(4);
    const files = await walk(store.root);
    expect(files.some((f) => f.endsWith("vmstate.zst"))).toBe(true);
    expect(files.some((f) => f.endsWith("image.qcow2"))).toBe(true);
    const found: string[] = [];
    for (const f of files) {
      const hit = await findIn(f);
      if (hit) found.push(f);
    }
    expect(found).toEqual([]);
    const reported = outcomes
      .map(
        (o) =>
          `${o.output}\n${JSON.stringify(o.events.filter((e) => e.type !== "output"))}\n${o.error?.message ?? ""}`,
      )
      .join("\n");
    for (const n of NEEDLES) expect(reported).not.toContain(n.toString());
  }, 1_800_000);
});

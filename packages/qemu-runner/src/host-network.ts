import { randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HostToolError, HostToolMissingError, runHostTool } from "@strata/host-tool";
import createDebug from "debug";
import { QemuNetworkSandboxError, QemuPortInUseError } from "./errors.js";

const debug = createDebug("strata:qemu");

/**
 * Destinations no guest with a `host` network may reach, whatever it sends: cloud metadata
 * services (IPv4 link-local, where every cloud's 169.254.169.254 lives, and AWS's IPv6 one).
 */
export const BLOCKED_ROUTES = {
  ipv4: ["169.254.0.0/16"],
  ipv6: ["fd00:ec2::254/128"],
} as const;

/** Prefix of the network namespaces made for `host` networks (`ip netns list` shows them). */
const NETNS_PREFIX = "strata-";

/** In a VM's run directory: the name of its namespace (for reapStaleVms). */
const NETNS_FILE = "netns";

/**
 * Removes a namespace left by a VM whose owner died; its pasta quits when the namespace goes.
 * Only names with {@link NETNS_PREFIX} are touched.
 */
export async function removeStaleHostNetwork(runDir: string): Promise<void> {
  const name = (await readFile(join(runDir, NETNS_FILE), "utf8").catch(() => "")).trim();
  if (!name.startsWith(NETNS_PREFIX) || !/^[\w.-]+$/.test(name)) return;
  // pasta quits by itself once its namespace is gone (a pid file's number may be reused).
  await runHostTool("ip", ["netns", "delete", name]).catch(() => {});
  debug("removed stale host network", name);
}

/** A network namespace with outward access through pasta, and the SSH port forwarded in. */
export interface HostNetwork {
  /** The namespace's name (under /run/netns). */
  readonly name: string;
  /** `argv` run inside the namespace (nsenter execs it: same pid). */
  wrap(argv: readonly string[]): string[];
  /** Stops pasta and deletes the namespace. Safe to call twice. */
  close(): Promise<void>;
}

/** The commands that set up a sandbox namespace; pure, for tests and for the docs. */
export function hostNetworkCommands(name: string, sshPort: number, pidFile: string): string[][] {
  return [
    ["ip", "netns", "add", name],
    ["ip", "-n", name, "link", "set", "lo", "up"],
    ...BLOCKED_ROUTES.ipv4.map((r) => ["ip", "-n", name, "route", "add", "unreachable", r]),
    ...BLOCKED_ROUTES.ipv6.map((r) => ["ip", "-n", name, "-6", "route", "add", "unreachable", r]),
    [
      "pasta",
      // pasta drops to "nobody" when started as root, which may not open the namespace.
      "--runas",
      "0:0",
      "--quiet",
      "--config-net",
      // The gateway address would otherwise be this host's loopback, seen from the namespace.
      "--no-map-gw",
      "--tcp-ports",
      `127.0.0.1/${sshPort}`,
      "--udp-ports",
      "none",
      "--tcp-ns",
      "none",
      "--udp-ns",
      "none",
      "--pid",
      pidFile,
      "--netns",
      name,
    ],
  ];
}

async function ipv6Enabled(): Promise<boolean> {
  return (await stat("/proc/sys/net/ipv6").catch(() => undefined)) !== undefined;
}

/**
 * Sets up what a `host` network runs in. QEMU's user-mode network connects out from the
 * process's own network namespace and maps the guest's gateway (10.0.2.2) to that namespace's
 * loopback: in a fresh namespace, that loopback has nothing on it. pasta connects the
 * namespace outward without mapping the host's loopback (`--no-map-gw`), unreachable routes
 * take the cloud metadata addresses away, and pasta forwards the SSH port from the host's
 * 127.0.0.1 to QEMU's forward inside. Needs root (network namespaces) and pasta (Debian
 * package `passt`).
 */
export async function openHostNetwork(
  sshPort: number,
  runDir: string,
  attempt = 1,
): Promise<HostNetwork> {
  if (process.getuid?.() !== 0)
    throw new QemuNetworkSandboxError(
      "a step with (network host) runs its VM in a network namespace, which needs root here: run strata as root, or drop (network host) from the spec",
    );
  const name = `${NETNS_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`;
  const pidFile = join(runDir, "pasta.pid");
  const commands = hostNetworkCommands(name, sshPort, pidFile);
  const v6 = await ipv6Enabled();
  let created = false;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      const pid = Number.parseInt(await readFile(pidFile, "utf8").catch(() => ""), 10);
      if (pid > 0) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {}
      }
      if (created) await runHostTool("ip", ["netns", "delete", name]).catch(() => {});
      debug("host network closed", name);
    })();
    return closed;
  };
  try {
    for (const argv of commands) {
      if (!v6 && argv.includes("-6")) continue;
      const failed = await runHostTool(argv[0]!, argv.slice(1)).then(
        () => undefined,
        (e: unknown) => {
          if (e instanceof HostToolError || e instanceof HostToolMissingError) return e;
          throw e;
        },
      );
      if (!failed) {
        if (argv[1] === "netns" && argv[2] === "add") created = true;
        continue;
      }
      if (
        argv[0] === "pasta" &&
        failed instanceof HostToolError &&
        /bind|in use/i.test(failed.tail)
      )
        throw new QemuPortInUseError(sshPort, attempt);
      throw new QemuNetworkSandboxError(
        failed instanceof HostToolMissingError
          ? `${argv[0]} is needed for a step with (network host): install the Debian packages passt and iproute2`
          : `setting up the network namespace for (network host) failed: ${argv.join(" ")}: ${failed.tail.trim() || `exit code ${failed.exitCode}`}`,
      );
    }
  } catch (err) {
    await close();
    throw err;
  }
  // Lets reapStaleVms remove the namespace when its owner was killed before it could.
  await writeFile(join(runDir, NETNS_FILE), `${name}\n`);
  debug("host network", name, "ssh", sshPort);
  return {
    name,
    wrap: (argv) => ["nsenter", `--net=/run/netns/${name}`, "--", ...argv],
    close,
  };
}

import { execFileSync } from "node:child_process";
import createDebug from "debug";

const debug = createDebug("strata:host-tool");

/**
 * The command prefix that makes a child die with its parent. Node cannot set Linux's
 * PR_SET_PDEATHSIG itself, but util-linux's `setpriv --pdeathsig KILL` sets it and then execs the
 * real command, keeping the pid: a SIGKILLed owner (nothing of it can run then) takes its child
 * (QEMU, a test's registry or redis-server) with it within milliseconds. Empty where the
 * platform or setpriv lacks it; for QEMU, qemu-runner's VM registry and stale-VM reaping then
 * remain the safety nets.
 */
export function parentDeathPrefix(): readonly string[] {
  if (prefix === undefined) prefix = probe();
  return prefix;
}

let prefix: readonly string[] | undefined;

function probe(): readonly string[] {
  if (process.platform !== "linux") return [];
  try {
    const help = execFileSync("setpriv", ["--help"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    if (help.includes("--pdeathsig")) return ["setpriv", "--pdeathsig", "KILL", "--"];
    debug("setpriv has no --pdeathsig: children may outlive a SIGKILLed owner");
  } catch {
    debug("no setpriv: children may outlive a SIGKILLed owner");
  }
  return [];
}

/** `argv` behind {@link parentDeathPrefix}: the command and its arguments to spawn. */
export function withParentDeath(argv: readonly string[]): [string, string[]] {
  const full = [...parentDeathPrefix(), ...argv];
  return [full[0]!, full.slice(1)];
}

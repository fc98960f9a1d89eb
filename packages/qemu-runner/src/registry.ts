import createDebug from "debug";

const debug = createDebug("strata:qemu");

/**
 * Every live QEMU process is recorded here and SIGKILLed when this process exits or is told to
 * stop: no VM outlives its owner. A SIGKILLed owner runs none of this; for that case QEMU is
 * spawned behind `setpriv --pdeathsig KILL` (`withParentDeath` of @strata/host-tool).
 */
const live = new Map<number, string>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
let installed = false;

function killAll(): void {
  for (const [pid, what] of live) {
    try {
      process.kill(pid, "SIGKILL");
      debug("killed on exit", pid, what);
    } catch {
      // Already gone.
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  // If nobody else handles the signal, behave as if we had not listened: die by it.
  if (process.listenerCount(signal) === 1) {
    uninstall();
    process.kill(process.pid, signal);
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off("exit", killAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Records a child to kill if this process ends; returns the function that forgets it. */
export function trackProcess(pid: number, what: string): () => void {
  install();
  live.set(pid, what);
  return () => {
    live.delete(pid);
    if (live.size === 0) uninstall();
  };
}

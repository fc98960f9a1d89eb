import { EXIT_INTERRUPTED } from "./exit-codes.js";

/** The signals that stop a command cleanly: Ctrl-C, `kill`, and a closed terminal. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Exit code after a clean stop: 128 + the signal's number, as a shell reports a death by it. */
export const EXIT_CODE_FOR_SIGNAL: Readonly<Record<StopSignal, number>> = {
  SIGHUP: 129,
  SIGINT: EXIT_INTERRUPTED,
  SIGTERM: 143,
};

/**
 * The abort reason a stop signal gives: every cancelled operation carries it as its `cause`, and
 * the error boundary maps its code to the interrupted exit.
 */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  readonly code = "INTERRUPTED";
  constructor(readonly signal: StopSignal) {
    super(`interrupted by ${signal}; work in progress was stopped and cleaned up`);
  }
}

/** The stop signal behind an aborted `signal`, if a stop signal aborted it. */
export function stopSignalOf(signal: AbortSignal): StopSignal | undefined {
  return signal.aborted && signal.reason instanceof InterruptedError
    ? signal.reason.signal
    : undefined;
}

/**
 * Runs an app's entry with SIGINT, SIGTERM and SIGHUP wired to one AbortSignal, then exits with
 * its code: the only place a process exits. Each of the three gets the same clean stop (VMs
 * stopped, temp files removed); a command that ends as interrupted exits 130, 143 or 129 after
 * the signal that stopped it. A second stop signal while clean-up runs leaves at once.
 */
export async function runWithInterrupt(
  run: (signal: AbortSignal) => Promise<number>,
): Promise<never> {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const stop = signal as StopSignal;
    if (received !== undefined) process.exit(EXIT_CODE_FOR_SIGNAL[stop]);
    received = stop;
    controller.abort(new InterruptedError(stop));
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const code = await run(controller.signal);
  process.exit(
    received !== undefined && code === EXIT_INTERRUPTED ? EXIT_CODE_FOR_SIGNAL[received] : code,
  );
}

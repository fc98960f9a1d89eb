// A process for interrupt.test.ts: runs a "command" that waits to be stopped, then cleans up
// (slowly when STRATA_TEST_SLOW_CLEANUP is set) and reports what it saw. Not part of the API.
import { rmSync } from "node:fs";
import { EXIT_INTERRUPTED } from "./exit-codes.js";
import { runWithInterrupt, stopSignalOf } from "./interrupt.js";

const scratch = process.env.STRATA_TEST_SCRATCH;
// Waiting on a promise alone does not keep Node running (a real command has its VM, its SSH
// connection): without this the child could end by itself, exit 0, before the test signals it.
setInterval(() => {}, 1000);
void runWithInterrupt(async (signal) => {
  process.stdout.write("ready\n");
  await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
  if (process.env.STRATA_TEST_SLOW_CLEANUP) await new Promise((r) => setTimeout(r, 60_000));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  process.stdout.write(`stopped by ${stopSignalOf(signal)}\n`);
  return EXIT_INTERRUPTED;
});

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EXIT_CODE_FOR_SIGNAL, InterruptedError, STOP_SIGNALS, stopSignalOf } from "./interrupt.js";

const CHILD = fileURLToPath(new URL("./interrupt-child.ts", import.meta.url));

/** Runs interrupt-child.ts under vite-node; `ready` resolves once it waits to be stopped. */
function spawnChild(env: Record<string, string>) {
  const require = createRequire(import.meta.url);
  const viteNode = createRequire(require.resolve("vitest/package.json")).resolve(
    "vite-node/package.json",
  );
  const child = spawn(process.execPath, [join(dirname(viteNode), "vite-node.mjs"), CHILD], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ exitCode: number | null; stdout: string }>((resolve) =>
    child.on("exit", (exitCode) => resolve({ exitCode, stdout })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes("ready\n")) resolve();
    });
    void exited.then(() => reject(new Error(`child ended early: ${stdout}${stderr}`)));
  });
  return { kill: (s: NodeJS.Signals) => child.kill(s), exited, ready };
}

describe("runWithInterrupt", () => {
  it.each(STOP_SIGNALS)("stops cleanly on %s and exits with 128 + its number", async (sig) => {
    const scratch = mkdtempSync(join(tmpdir(), "strata-interrupt-"));
    try {
      const { kill, exited, ready } = spawnChild({ STRATA_TEST_SCRATCH: scratch });
      await ready;
      kill(sig);
      const result = await exited;
      expect(result.exitCode).toBe({ SIGINT: 130, SIGTERM: 143, SIGHUP: 129 }[sig]);
      expect(result.stdout).toContain(`stopped by ${sig}`);
      // The command's own clean-up ran before the exit.
      expect(existsSync(scratch)).toBe(false);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("leaves at once on a second signal while clean-up runs", async () => {
    const { kill, exited, ready } = spawnChild({ STRATA_TEST_SLOW_CLEANUP: "1" });
    await ready;
    const started = Date.now();
    kill("SIGTERM");
    // Give the first signal time to be handled, so the second one finds clean-up running.
    await new Promise((r) => setTimeout(r, 300));
    kill("SIGHUP");
    const result = await exited;
    expect(result.exitCode).toBe(129);
    expect(result.stdout).not.toContain("stopped by");
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe("stopSignalOf", () => {
  it("names the signal behind an interrupt, and nothing for other aborts", () => {
    const a = new AbortController();
    a.abort(new InterruptedError("SIGTERM"));
    expect(stopSignalOf(a.signal)).toBe("SIGTERM");
    const b = new AbortController();
    b.abort();
    expect(stopSignalOf(b.signal)).toBeUndefined();
    expect(stopSignalOf(new AbortController().signal)).toBeUndefined();
    expect(EXIT_CODE_FOR_SIGNAL.SIGTERM).toBe(143);
  });
});

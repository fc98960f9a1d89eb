// A second strata process for the cross-process tests, run with vite-node. It builds one layer
// as told by STRATA_TEST_CHILD (JSON) and prints its output and, at the end, a RESULT line.
import { openStore } from "./store.js";
import { writePattern } from "./test-support.js";

interface ChildConfig {
  root: string;
  id: string;
  base?: string;
  parent?: string;
  /**
   * hang: write, say "ready", wait to be killed; cancel: say "ready", then our only client
   * cancels (on SIGUSR2); slow: log `lines` lines then succeed; fail: log them, then fail;
   * die-in-commit: finish the step, and be SIGKILLed `delayMs` after, while the store commits;
   * hold-downloads: hold the download/ lease a pull takes, say "ready", wait to be killed.
   */
  mode: "hang" | "cancel" | "slow" | "fail" | "die-in-commit" | "hold-downloads";
  lines?: number;
  delayMs?: number;
}

const config = JSON.parse(process.env.STRATA_TEST_CHILD ?? "{}") as ChildConfig;
const store = await openStore({ root: config.root });
const cancel = new AbortController();
process.on("SIGUSR2", () => cancel.abort());
// Waiting on a promise alone does not keep Node running: without this, "hang" would just exit.
const keepAlive = setInterval(() => {}, 1000);
if (config.mode === "hold-downloads") {
  store.holdDownloads();
  process.stdout.write("ready\n");
  await new Promise(() => {});
}
try {
  const result = await store.build(
    config.id,
    {
      ...(config.base ? { base: config.base } : { parent: config.parent! }),
      description: `child ${config.mode}`,
      signal: cancel.signal,
      onLog: (chunk) => process.stdout.write(chunk),
    },
    async (layer) => {
      layer.log(`pid ${process.pid} building\n`);
      await writePattern(layer.image, 0x42, 0, 1024 * 1024);
      if (config.mode === "hang") {
        layer.log("ready\n");
        await new Promise(() => {});
      }
      if (config.mode === "cancel") {
        layer.log("ready\n");
        await new Promise((_, reject) => {
          layer.signal.addEventListener("abort", () => reject(layer.signal.reason));
        });
      }
      for (let i = 0; i < (config.lines ?? 0); i++) {
        layer.log(`line ${i}\n`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (config.mode === "fail") throw new Error("child step failed on purpose");
      if (config.mode === "die-in-commit") {
        setTimeout(() => process.kill(process.pid, "SIGKILL"), config.delayMs ?? 0);
      }
    },
  );
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
} catch (error) {
  process.stdout.write(`ERROR ${(error as { code?: string }).code ?? String(error)}\n`);
  process.exitCode = 1;
} finally {
  clearInterval(keepAlive);
  store.close();
}

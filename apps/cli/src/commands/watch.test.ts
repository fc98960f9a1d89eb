import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureIo } from "@strata/cli-kit";
import { afterEach, beforeEach, expect, it } from "vitest";
import { watchBuild } from "./watch.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-watch-"));
  await writeFile(join(dir, "build.spec"), "((from x))");
  await writeFile(join(dir, "a.txt"), "1");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function waitFor(check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (check()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > 10_000) {
        clearInterval(poll);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 20);
  });
}

it("builds, cancels a running build when a file changes, rebuilds once per burst, stops on Ctrl-C", async () => {
  const ctrlC = new AbortController();
  const { io, stderr } = captureIo(dir, { signal: ctrlC.signal });
  const starts: AbortSignal[] = [];
  let finished = 0;
  const build = (signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      starts.push(signal);
      // The second build "runs" until it is cancelled; the others finish at once.
      if (starts.length === 2) signal.addEventListener("abort", () => reject(signal.reason));
      else {
        finished++;
        resolve("id");
      }
    });
  const done = watchBuild({
    io,
    specPath: join(dir, "build.spec"),
    contextDir: dir,
    build,
    debounceMs: 100,
  });
  await waitFor(() => finished === 1, "the first build");
  await writeFile(join(dir, "a.txt"), "2");
  await waitFor(() => starts.length === 2, "a rebuild after a change");
  // A burst of changes while build 2 runs: it is cancelled, and one more build starts.
  await writeFile(join(dir, "a.txt"), "3");
  await writeFile(join(dir, "build.spec"), "((from y))");
  await waitFor(() => finished === 2, "the restarted build");
  expect(starts[1]?.aborted).toBe(true);
  expect(starts).toHaveLength(3);
  expect(stderr()).toContain("build cancelled");
  ctrlC.abort();
  expect(await done).toBe(130);
});

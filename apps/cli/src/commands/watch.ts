import type { CliIo } from "@strata/cli-kit";
import { EXIT_INTERRUPTED } from "@strata/cli-kit";
import { watch } from "chokidar";

interface WatchBuildOptions {
  io: CliIo;
  specPath: string;
  contextDir: string;
  build: (signal: AbortSignal) => Promise<string>;
  /** Quiet time after the last change before a rebuild starts. @default 300 */
  debounceMs?: number;
}

/** Files that change by themselves or never matter to a build. */
const IGNORED = /(^|[\\/])(\.git|node_modules|\.turbo|_build)([\\/]|$)/;

/**
 * Builds, then rebuilds whenever the spec or a context file changes: debounced, a running build
 * cancelled (its VM stopped, nothing half-saved) and restarted. Ends on Ctrl-C with 130.
 */
export async function watchBuild(o: WatchBuildOptions): Promise<number> {
  const { io } = o;
  const watcher = watch([o.specPath, o.contextDir], {
    ignored: (p) => IGNORED.test(p),
    ignoreInitial: true,
  });
  let current: AbortController | undefined;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    current?.abort(new Error("a file changed; restarting the build"));
    const controller = new AbortController();
    current = controller;
    const signal = AbortSignal.any([io.signal, controller.signal]);
    running = running.then(async () => {
      if (signal.aborted) return;
      try {
        await o.build(signal);
        io.stderr.write("strata: build done; watching for changes (Ctrl-C to stop)\n");
      } catch (err) {
        if (signal.aborted) io.stderr.write("strata: build cancelled\n");
        else
          io.stderr.write(
            `strata: ${(err as Error).message}\nstrata: watching for changes (Ctrl-C to stop)\n`,
          );
      }
    });
  };
  watcher.on("all", (_event, path) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      io.stderr.write(`strata: ${path} changed; rebuilding\n`);
      start();
    }, o.debounceMs ?? 300);
  });
  await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  start();
  await new Promise<void>((resolve) =>
    io.signal.addEventListener("abort", () => resolve(), { once: true }),
  );
  clearTimeout(timer);
  current?.abort(io.signal.reason);
  await running;
  await watcher.close();
  return EXIT_INTERRUPTED;
}

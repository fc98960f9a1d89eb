import type { BuildEvent } from "@strata/builder";
import type { CliIo } from "@strata/cli-kit";
import type { ContextRegistry, MachineJobOptions, SubmitEvent } from "@strata/fleet";
import { RemoteBuildError } from "@strata/fleet/errors";
import { RemoteFailure, SpecFileError } from "../errors.js";
import { parseSpecFile, readSpecText } from "../spec-file.js";

interface RemoteBuildOptions {
  readonly io: CliIo;
  readonly queue: URL;
  readonly pool: string | undefined;
  readonly specPath: string;
  readonly contextDir: string;
  readonly machine: MachineJobOptions;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly deadlineMs: number | undefined;
  readonly watchdogMs: number | undefined;
  readonly render: (e: BuildEvent) => void;
  /** The fleet's registry, where a context over the Redis limit travels. */
  readonly registry?: ContextRegistry;
}

/** Why a waiting job moved, as stderr says it. */
const MOVE_REASONS = {
  "worker-gone": "its worker is gone",
  waited: "it waited too long",
  sooner: "a free worker finishes it sooner",
} as const;

/** Where the job is, on stderr (or a "fleet" line with --json): which worker runs it, moves. */
export function renderSubmitEvent(io: CliIo, json: boolean, verbose: boolean) {
  return (e: SubmitEvent) => {
    if (json) {
      io.stdout.write(`${JSON.stringify({ type: "fleet", event: e })}\n`);
      return;
    }
    switch (e.type) {
      case "queued":
        if (verbose)
          io.stderr.write(
            `strata: [INFO] job ${e.jobId} queued ${e.route.kind === "worker" ? `for worker "${e.route.worker}" (${e.route.depth} steps cached there)` : `in the pool (${e.route.reason})`}\n`,
          );
        break;
      case "attempt":
        io.stderr.write(
          `strata: running on worker "${e.worker}"${e.attempt > 1 ? ` (attempt ${e.attempt})` : ""}\n`,
        );
        break;
      case "spilled":
        io.stderr.write(
          `strata: [WARN] job moved from ${e.from} to ${e.to} (${MOVE_REASONS[e.reason]})\n`,
        );
        break;
      case "cancelling":
        io.stderr.write(`strata: cancelling job ${e.jobId}...\n`);
        break;
    }
  };
}

/** A remote build's failure as the known error a local build would have thrown. */
export async function asLocalFailure<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof RemoteBuildError) throw new RemoteFailure(error);
    throw error;
  }
}

/** `strata build --queue`: submits the build and renders it as a local build. */
export async function runRemoteBuild(o: RemoteBuildOptions): Promise<string> {
  const file = await readSpecText(o.specPath, o.io);
  const { spec, buildProblems } = parseSpecFile(file);
  // The build-time checks a local build makes, before anything is submitted.
  if (buildProblems.length > 0) throw new SpecFileError("SPEC_INVALID", buildProblems, file.text);
  const { submitBuild } = await import("@strata/fleet");
  const r = await asLocalFailure(
    submitBuild({
      url: o.queue,
      spec,
      specText: file.text,
      specFile: o.specPath,
      contextDir: o.contextDir,
      ...(o.pool ? { pool: o.pool } : {}),
      machine: o.machine,
      ...(o.deadlineMs ? { deadlineMs: o.deadlineMs } : {}),
      ...(o.watchdogMs ? { watchdogMs: o.watchdogMs } : {}),
      ...(o.registry ? { registry: o.registry } : {}),
      signal: o.io.signal,
      onEvent: o.render,
      onSubmitEvent: renderSubmitEvent(o.io, o.json, o.verbose),
    }),
  );
  // The worker's "done" event was rendered as it came.
  return r.layer;
}

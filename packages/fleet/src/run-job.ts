import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BuildEvent,
  type BuildRegistryOptions,
  runBuild,
  SecretMissingError,
  type SecretValues,
} from "@strata/builder";
import { parseSpecOrThrow } from "@strata/spec-parser";
import type { Store } from "@strata/store";
import type { Redis } from "ioredis";
import { fetchContext } from "./context.js";
import { FleetJobAbortedError } from "./errors.js";
import type { JobData } from "./schema.js";

/** Bytes of output kept for the message of a job the watchdog or the deadline stopped. */
const TAIL_BYTES = 4096;

interface ExecuteJobOptions {
  readonly redis: Redis;
  readonly data: JobData;
  readonly store: Store;
  /** The worker's secrets; the job names the IDs it needs. */
  readonly secrets: SecretValues;
  readonly worker: string;
  /** The registry layers move through: a parent built on another worker is pulled. @default none */
  readonly registry?: BuildRegistryOptions | undefined;
  /** Aborted on cancel, on a lost lock, or when the worker stops. */
  readonly signal: AbortSignal;
  readonly onEvent: (e: BuildEvent) => void;
}

/**
 * Runs one job's build exactly as `strata build` would, in the worker's store: the context is
 * fetched and unpacked into a temp dir, the spec parsed, the job's secrets taken from the
 * worker's. A deadline bounds the whole attempt and a watchdog stops it when neither output nor
 * a progress event came for `watchdogMs`: a hung VM is not hidden by BullMQ's lock renewal.
 */
export async function executeJob(o: ExecuteJobOptions): Promise<string> {
  const { data } = o;
  const missing = data.secrets.filter((id) => !o.secrets.has(id));
  if (missing.length > 0)
    throw new SecretMissingError(
      missing[0]!,
      `worker "${o.worker}" does not hold secret(s) ${missing.join(", ")}; start the pool's workers with --secret ID:FILE`,
    );
  const secrets = new Map([...o.secrets].filter(([id]) => data.secrets.includes(id)));
  const spec = parseSpecOrThrow(data.spec.text, { file: data.spec.file });
  const ac = new AbortController();
  let stopped: FleetJobAbortedError | undefined;
  let tail = Buffer.alloc(0);
  const stop = (e: FleetJobAbortedError) => {
    stopped ??= e;
    ac.abort(e);
  };
  const deadline = setTimeout(
    () =>
      stop(
        new FleetJobAbortedError(
          "FLEET_DEADLINE",
          `the job ran past its deadline of ${Math.round(data.deadlineMs / 1000)} s on worker "${o.worker}"; its VM was stopped`,
          tailText(tail),
        ),
      ),
    data.deadlineMs,
  );
  let watchdog: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(
      () =>
        stop(
          new FleetJobAbortedError(
            "FLEET_WATCHDOG",
            `no output and no progress for ${Math.round(data.watchdogMs / 1000)} s on worker "${o.worker}": the VM was stopped. Last output:\n${tailText(tail)}`,
            tailText(tail),
          ),
        ),
      data.watchdogMs,
    );
  };
  arm();
  const onAbort = () => ac.abort(o.signal.reason);
  o.signal.addEventListener("abort", onAbort, { once: true });
  const dir = await mkdtemp(join(tmpdir(), "strata-job-"));
  try {
    await fetchContext(o.redis, data.context, dir, {
      registry: o.registry,
      signal: ac.signal,
    });
    return await runBuild({
      store: o.store,
      spec,
      contextDir: dir,
      secrets,
      ...data.options,
      registry: o.registry,
      signal: ac.signal,
      onEvent: (e) => {
        arm();
        if (e.type === "output") tail = Buffer.concat([tail, e.chunk]).subarray(-TAIL_BYTES);
        o.onEvent(e);
      },
    });
  } catch (err) {
    throw stopped ?? err;
  } finally {
    clearTimeout(deadline);
    clearTimeout(watchdog);
    o.signal.removeEventListener("abort", onAbort);
    await rm(dir, { recursive: true, force: true });
  }
}

function tailText(tail: Buffer): string {
  return tail.toString("utf8");
}

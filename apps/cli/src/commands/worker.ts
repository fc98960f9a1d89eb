import { loadSecrets } from "@strata/builder";
import { type CliIo, defineCommand, EXIT_OK, UsageError } from "@strata/cli-kit";
import type { WorkerEvent } from "@strata/fleet";
import { BUILD_REGISTRY_OPTIONS, registryOptions } from "./build-flags.js";
import { QUEUE_OPTION, queueUrl } from "./fleet-options.js";
import { openStoreFor, STORE_OPTION } from "./store-options.js";

const OPTIONS = {
  ...QUEUE_OPTION,
  pool: { type: "string", value: "NAME", help: "the pool to take jobs from (default: default)" },
  name: { type: "string", value: "NAME", help: "this worker's name (default: the host name)" },
  capacity: { type: "string", value: "N", help: "builds run at once (default: 1)" },
  secret: {
    type: "string",
    multiple: true,
    value: "ID:FILE",
    help: "a secret jobs may name by ID; repeatable; never sent to Redis",
  },
  ...BUILD_REGISTRY_OPTIONS,
  ...STORE_OPTION,
} as const;

function renderWorkerEvent(io: CliIo) {
  return (e: WorkerEvent) => {
    const at = new Date().toISOString().slice(0, 19).replace("T", " ");
    switch (e.type) {
      case "registered":
        io.stderr.write(
          `${at} worker "${e.name}" in pool "${e.pool}": ready (${e.layers} layers)\n`,
        );
        break;
      case "job-start":
        io.stderr.write(`${at} job ${e.jobId} from ${e.queue}: started (attempt ${e.attempt})\n`);
        break;
      case "job-end":
        io.stderr.write(`${at} job ${e.jobId}: ${e.outcome}${e.message ? `: ${e.message}` : ""}\n`);
        break;
      case "state":
        io.stderr.write(`${at} operator set this worker ${e.state}\n`);
        break;
      case "warning":
        io.stderr.write(`${at} [WARN] ${e.message}\n`);
        break;
    }
  };
}

export const workerCommand = defineCommand({
  name: "worker",
  summary: "run builds from a fleet's queue (BullMQ on Redis) until stopped",
  synopsis: "--queue redis://HOST:PORT [--pool NAME] [--registry REF] [--name NAME] [OPTIONS]",
  maxArguments: 0,
  service: true,
  description: `Takes builds from its own queue (jobs routed to it because it holds their layers) and from its
pool's queue, builds each in its store exactly as "strata build" would, and streams their events
back. Publishes heartbeats and the IDs of the layers it holds. With --registry (the fleet's
shared registry) a layer built by another worker is pulled instead of rebuilt and every layer
built here is pushed. A restart under the same name takes the name over at once. Ctrl-C or
SIGTERM stops the running builds' VMs and hands their jobs back to the queue, then exits 0;
"strata fleet drain NAME" lets running jobs finish first. See docs/fleet.md.`,
  options: OPTIONS,
  async run({ values, positionals }, io) {
    if (positionals.length > 0)
      throw new UsageError('"strata worker" takes no arguments; see "strata worker --help"');
    const url = await queueUrl(values.queue, io.env, "worker");
    const capacity = values.capacity === undefined ? 1 : Number(values.capacity);
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new UsageError(
        `option "--capacity": "${values.capacity}" is not a positive whole number`,
      );
    // Transfers happen inside jobs: no progress lines in the worker's log.
    const registry = registryOptions(values, io, { progress: "quiet" });
    const secrets = await loadSecrets(values.secret ?? []);
    const { FleetWorker } = await import("@strata/fleet");
    await using store = await openStoreFor(values.store, io);
    const worker = await FleetWorker.start(
      {
        url,
        store,
        ...(values.name ? { name: values.name } : {}),
        ...(values.pool ? { pool: values.pool } : {}),
        capacity,
        secrets,
        ...(registry ? { registry } : {}),
        onEvent: renderWorkerEvent(io),
      },
      io.signal,
    );
    const stop = () => worker.stop();
    io.signal.addEventListener("abort", stop, { once: true });
    process.once("SIGTERM", stop);
    try {
      await worker.finished;
    } finally {
      process.off("SIGTERM", stop);
      io.signal.removeEventListener("abort", stop);
    }
    io.stderr.write(`worker "${worker.name}" stopped\n`);
    return EXIT_OK;
  },
});

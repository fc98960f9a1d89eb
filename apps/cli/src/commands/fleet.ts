import { defineCommand, EXIT_OK, formatBytes, UsageError } from "@strata/cli-kit";
import { FleetJobUnknownError } from "@strata/fleet/errors";
import { createBuildRenderer } from "../render-build.js";
import { asLocalFailure, renderSubmitEvent } from "./build-remote.js";
import { QUEUE_OPTION, queueUrl } from "./fleet-options.js";

const OPTIONS = {
  ...QUEUE_OPTION,
  json: { type: "boolean", help: "one JSON object per line" },
  verbose: { type: "boolean", short: "v", help: "(logs) show what happens around each step" },
} as const;

const ACTIONS = ["ls", "jobs", "pause", "resume", "drain", "forget", "logs"] as const;

function ago(ms: number | undefined): string {
  if (ms === undefined) return "-";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120
    ? `${s}s ago`
    : s < 7200
      ? `${Math.round(s / 60)}m ago`
      : `${Math.round(s / 3600)}h ago`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
  return `${lines.join("\n")}\n`;
}

export const fleetCommand = defineCommand({
  name: "fleet",
  summary: "look at and steer a build fleet: `strata fleet ls|jobs|pause|resume|drain|forget|logs`",
  synopsis: [
    "ls [--json]",
    "jobs [--json]",
    "pause|resume|drain|forget WORKER",
    "logs JOB [--json] [-v]",
  ],
  maxArguments: 2,
  complete: [["ls", "jobs", "pause", "resume", "drain", "forget", "logs"], "none"],
  description: `ls       workers: name, pool, state, running jobs, load, free disk, cached layers, last seen
jobs     jobs, newest first: state, worker, duration
pause    the worker stops taking jobs (running ones go on); resume: it takes jobs again
drain    the worker finishes its running jobs, then exits
forget   removes a gone worker; jobs waiting for it move to its pool
logs     replays a job's output from the start and follows it to the end; exits as the build does
Every form takes --queue URL (or STRATA_QUEUE). See docs/fleet.md.`,
  options: OPTIONS,
  async run({ values, positionals }, io) {
    const [action, ...rest] = positionals;
    if (!(ACTIONS as readonly (string | undefined)[]).includes(action))
      throw new UsageError(`expected one of ${ACTIONS.join(", ")}; see "strata fleet --help"`);
    const url = await queueUrl(values.queue, io.env, "fleet");
    const wantsOne = action !== "ls" && action !== "jobs";
    if (wantsOne ? rest.length !== 1 : rest.length !== 0)
      throw new UsageError(
        wantsOne
          ? `"strata fleet ${action}" takes one ${action === "logs" ? "JOB" : "WORKER"}`
          : `"strata fleet ${action}" takes no arguments`,
      );
    const target = rest[0]!;
    const {
      connect,
      followJob,
      forgetWorker,
      listJobRecords,
      listWorkers,
      readJobRecord,
      setWorkerState,
      workerLoad,
    } = await import("@strata/fleet");
    await using conn = await connect(url, io.signal);
    switch (action) {
      case "ls": {
        const workers = await listWorkers(conn.redis);
        if (values.json) {
          for (const w of workers)
            io.stdout.write(`${JSON.stringify({ name: w.name, state: w.state, ...w.record })}\n`);
          return EXIT_OK;
        }
        const rows = [
          ["NAME", "POOL", "STATE", "RUNNING", "LOAD", "FREE DISK", "LAYERS", "LAST SEEN"],
        ];
        for (const w of workers) {
          const r = w.record;
          rows.push(
            r
              ? [
                  w.name,
                  r.pool,
                  w.state,
                  `${r.running}/${r.capacity}`,
                  workerLoad({ running: r.running, queued: 0, capacity: r.capacity }).toFixed(2),
                  formatBytes(r.freeDisk),
                  String(r.layerCount),
                  ago(r.lastSeen),
                ]
              : [w.name, "-", w.state, "-", "-", "-", "-", "-"],
          );
        }
        io.stdout.write(table(rows));
        return EXIT_OK;
      }
      case "jobs": {
        const jobs = await listJobRecords(conn.redis);
        if (values.json) {
          for (const j of jobs) io.stdout.write(`${JSON.stringify(j)}\n`);
          return EXIT_OK;
        }
        const rows = [["JOB", "STATE", "WORKER", "QUEUE", "SPEC", "SUBMITTED", "DURATION"]];
        for (const j of jobs) {
          const end = j.finishedAt ?? (j.state === "running" ? Date.now() : undefined);
          const duration = j.startedAt && end ? `${Math.round((end - j.startedAt) / 1000)}s` : "-";
          rows.push([
            j.id,
            j.state,
            j.worker ?? "-",
            j.queue,
            j.spec,
            ago(j.submittedAt),
            duration,
          ]);
        }
        io.stdout.write(table(rows));
        return EXIT_OK;
      }
      case "pause":
      case "resume":
      case "drain":
        await setWorkerState(
          conn.redis,
          target,
          action === "pause" ? "paused" : action === "drain" ? "draining" : "active",
        );
        io.stdout.write(
          `worker "${target}": ${action === "resume" ? "active" : action === "pause" ? "paused" : "draining"} (from its next heartbeat)\n`,
        );
        return EXIT_OK;
      case "forget": {
        const moved = await forgetWorker(conn.redis, conn.queues, target);
        io.stdout.write(
          `forgot worker "${target}"${moved ? `; ${moved} waiting job(s) moved to its pool` : ""}\n`,
        );
        return EXIT_OK;
      }
      default: {
        if ((await readJobRecord(conn.redis, target)) === undefined)
          throw new FleetJobUnknownError(target);
        const json = values.json ?? false;
        const verbose = values.verbose ?? false;
        const mode = json ? "json" : io.isTTY ? "tty" : "plain";
        const render = createBuildRenderer(io, { verbose, mode });
        await asLocalFailure(
          followJob({
            ...conn,
            jobId: target,
            signal: io.signal,
            onEvent: render,
            onFollowEvent: renderSubmitEvent(io, json, verbose),
          }),
        );
        return EXIT_OK;
      }
    }
  },
});

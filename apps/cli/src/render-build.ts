import type { BuildEvent, CacheProgressEvent, ColdBootReason, VmEvent } from "@strata/builder";
import { type CliIo, createStyle, type ProgressMode } from "@strata/cli-kit";
import {
  BuildTally,
  describePhase,
  formatDuration,
  formatStatusLine,
  formatSummary,
  type StepEnd,
} from "./build-tally.js";
import { createOutputText } from "./output-text.js";
import { createStatusLine, type StatusLineOptions } from "./status-line.js";

interface RenderOptions {
  verbose: boolean;
  /**
   * `json`: events on stdout; `quiet`: only the final layer ID; `plain`: OBuilder's form with
   * phases, durations and a summary as lines; `tty`: the same with the running step's phase
   * and time on a status line redrawn in place.
   */
  mode: ProgressMode;
  /** The clock for event times and durations. @default Date.now */
  now?: () => number;
  /** The status line's timer (tests drive it by hand). @default every second */
  every?: StatusLineOptions["every"];
}

/** Renders a build's events; `fail` reports the error the build ended with. */
interface BuildRenderer {
  (event: BuildEvent): void;
  /** The build failed with `error`: `--json` gets an `error` event, a status line is removed. */
  fail(error: unknown): void;
}

/** An error's stable code for `--json` (`INTERNAL` for one without a code). */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "INTERNAL";
}

/**
 * Renders build events in OBuilder's form: `<workdir>: <op>` headings, the output as it comes,
 * `---> saved as "<id>" in 4.2 s` / `---> using "<id>" from cache`, a summary line, `Got: "<id>"`.
 * With --json, one event per line on stdout (output as text), each with its `time` and the
 * `step` index it belongs to. `-q` prints the final ID alone. Detail (-v) and warnings go to
 * stderr. Colour only where `io.color` says so.
 */
export function createBuildRenderer(io: CliIo, o: RenderOptions): BuildRenderer {
  const now = o.now ?? Date.now;
  const tally = new BuildTally(now);
  if (o.mode === "json") return createJsonRenderer(io, o, tally);
  if (o.mode === "quiet") {
    return Object.assign(
      (e: BuildEvent) => {
        if (e.type === "done") io.stdout.write(`${e.id}\n`);
        else if (e.type === "warning") io.stderr.write(`strata: [WARN] ${e.message}\n`);
      },
      { fail: () => {} },
    );
  }
  return createTextRenderer(io, o, tally);
}

function createJsonRenderer(io: CliIo, o: RenderOptions, tally: BuildTally): BuildRenderer {
  // One decoder for the output: a character split across chunks comes out whole.
  const text = createOutputText();
  const time = () => new Date((o.now ?? Date.now)()).toISOString();
  const write = (event: object) =>
    io.stdout.write(`${JSON.stringify({ time: time(), ...event })}\n`);
  const step = () => (tally.current ? { step: tally.current.index } : {});
  const output = (t: string) => t && write({ type: "output", ...step(), text: t });
  const render = (e: BuildEvent) => {
    if (e.type === "output") return void output(text.push(e.chunk));
    output(text.flush());
    const scoped = e.type === "phase" ? step() : {};
    const end = tally.record(e);
    if (end) write({ ...e, step: end.step.index, durationMs: end.durationMs });
    else if (e.type === "done") {
      write({ ...e, durationMs: tally.elapsed(), ...tally.counts });
      tally.reset();
    } else write({ ...e, ...scoped });
  };
  return Object.assign(render, {
    fail(error: unknown) {
      output(text.flush());
      const message = error instanceof Error ? error.message : String(error);
      write({ type: "error", code: errorCode(error), message, ...step() });
      tally.reset();
    },
  });
}

function createTextRenderer(io: CliIo, o: RenderOptions, tally: BuildTally): BuildRenderer {
  const now = o.now ?? Date.now;
  const text = createOutputText();
  const style = createStyle(io.color);
  const tty = o.mode === "tty";
  const width = () => io.columns ?? 80;
  const statusText = () =>
    tally.current ? formatStatusLine(tally.current, now(), width()) : undefined;
  const status = tty ? createStatusLine(io.stderr, statusText, { every: o.every }) : undefined;
  let atLineStart = true;
  // On a terminal, output is written a whole line at a time, so the status line below it is
  // never drawn in the middle of a line (and erased with it). The rest waits for its newline.
  let pending = "";
  // Each VM start repeats the accelerator warning: say it once per build.
  const warned = new Set<string>();
  /** Writes around the status line: erased first, drawn again after. */
  const write = (stream: CliIo["stdout"], t: string) => {
    if (t.length === 0) return;
    status?.hide();
    stream.write(t);
    const next = statusText();
    if (status && next !== undefined) status.show(next);
  };
  const out = (t: string) => {
    if (t.length === 0) return;
    if (tty) {
      const all = pending + t;
      const cut = all.lastIndexOf("\n") + 1;
      pending = all.slice(cut);
      write(io.stdout, all.slice(0, cut));
    } else io.stdout.write(t);
    atLineStart = t.endsWith("\n");
  };
  const flush = () => {
    const rest = pending + text.flush();
    pending = "";
    if (rest.length === 0) return;
    if (tty) write(io.stdout, rest);
    else io.stdout.write(rest);
    atLineStart = rest.endsWith("\n");
  };
  const line = (t: string) => {
    const head = atLineStart ? "" : "\n";
    atLineStart = true;
    write(io.stdout, `${head}${t}\n`);
  };
  const took = (end: StepEnd | undefined) => (end ? ` in ${formatDuration(end.durationMs)}` : "");
  const render = (e: BuildEvent) => {
    if (e.type !== "output") flush();
    const end = tally.record(e);
    switch (e.type) {
      case "step":
        line(style.bold(tally.current?.label ?? e.op));
        break;
      case "phase":
        if (tty) status?.show(statusText() ?? "");
        else if (tally.current)
          line(
            style.dim(
              `--- ${describePhase(e.phase)} (${formatDuration(now() - tally.current.startedAt)})`,
            ),
          );
        break;
      case "output":
        out(text.push(e.chunk));
        break;
      case "saved":
        line(style.green(`---> saved as "${e.id}"${took(end)}`));
        break;
      case "vm":
      case "cache":
      case "transfer":
      case "comment":
        if (o.verbose) write(io.stderr, `strata: [INFO] ${describeDetail(e)}\n`);
        break;
      case "cached":
        line(
          style.cyan(
            e.pulled
              ? `---> using "${e.id}" from cache (pulled from the registry${took(end)})`
              : `---> using "${e.id}" from cache`,
          ),
        );
        break;
      case "done":
        status?.hide();
        line(formatSummary(tally.counts, tally.elapsed()));
        line(`Got: "${e.id}"`);
        tally.reset();
        break;
      case "warning":
        if (warned.has(e.message)) break;
        warned.add(e.message);
        write(io.stderr, `strata: ${style.yellow("[WARN]")} ${e.message}\n`);
        break;
    }
  };
  return Object.assign(render, {
    fail() {
      flush();
      tally.reset();
      status?.hide();
    },
  });
}

type Detail = Extract<BuildEvent, { type: "vm" | "cache" | "transfer" | "comment" }>;

/** The `-v` sentence for an event that is detail: a VM start or stop, a cache, a registry transfer. */
function describeDetail(e: Detail): string {
  switch (e.type) {
    case "vm":
      return describeVm(e);
    case "cache":
      return `cache ${e.cache}: ${describeCache(e)}`;
    case "transfer":
      return e.direction === "pull"
        ? `registry: pulled ${e.layers} layer(s) ending in ${e.id}`
        : `registry: pushed ${e.layers} layer(s) ending in ${e.id}`;
    case "comment":
      return `# ${e.text}`;
  }
}

function describeVm(e: VmEvent): string {
  switch (e.how) {
    case "booted":
      return `VM booted in ${formatDuration(e.ms)}${e.reason ? ` (cold boot: ${describeColdBoot(e.reason)})` : ""}`;
    case "resumed":
      return `VM resumed from the parent's saved state in ${formatDuration(e.ms)}`;
    case "continued": {
      const state = e.stateMs ? `, state saved in ${formatDuration(e.stateMs)}` : "";
      const park = e.parkMs === undefined ? "" : `paused after the last step in ${e.parkMs} ms, `;
      return `VM continued in ${formatDuration(e.ms)} (${park}snapshot ${e.snapshotMs ?? 0} ms${state})`;
    }
    case "powered-off":
      return `VM powered off in ${formatDuration(e.ms)}, its state not saved: the step had secrets`;
  }
}

/** Why a VM booted cold, as a sentence. */
function describeColdBoot(r: ColdBootReason): string {
  switch (r.code) {
    case "no-state":
      return "the parent layer has no saved VM state";
    case "state-meta-invalid":
      return "the record of the parent layer's saved VM state is not JSON";
    case "state-missing":
      return "the parent layer's saved VM state file is missing";
    case "no-cache":
      return "--no-cache resumes only VM states this build saved";
    case "other-machine":
      return `the saved VM state was made by another machine (${r.differs.map((d) => `${d.key}: ${d.saved} then, ${d.now} now`).join("; ")})`;
  }
}

function describeCache(e: CacheProgressEvent): string {
  switch (e.action) {
    case "checkout":
      return `${e.generation === 0 ? "new, empty" : `version ${e.generation}`} (${e.strategy})`;
    case "transfer":
      return `${(e.bytes / 2 ** 20).toFixed(1)} MiB ${e.direction}${e.done ? "" : "..."}`;
    case "mounted":
    case "unmounted":
      return `${e.action} at ${e.target}`;
    case "commit":
      return `${e.outcome} (version ${e.generation})`;
  }
}

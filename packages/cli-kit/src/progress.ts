import type { TransferEventListener } from "@strata/layer-transfer";
import type { CliIo } from "./io.js";
import type { ProgressMode } from "./output-options.js";
import { formatBytes } from "./store-option.js";

/** One progress line: percent, bytes, rate and ETA (pure; `elapsedMs` since the start). */
export function formatProgress(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
): string {
  const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const eta = rate > 0 && total > done ? Math.ceil((total - done) / rate) : 0;
  const etaText = done >= total ? "done" : rate > 0 ? `ETA ${formatSeconds(eta)}` : "ETA --";
  return `${label} ${String(percent).padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(Math.round(rate))}/s  ${etaText}`;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, "0")}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** Options of {@link createProgressRenderer}. */
export interface ProgressRendererOptions {
  /** Rewrite one line in place (a terminal) rather than print a line per 10 %. */
  readonly tty: boolean;
  /** What moves: "push", "pull"... */
  readonly label: string;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Renders byte progress on a stream: on a TTY one line redrawn at most 10 times a second, else
 * a plain line at every 10 % step (for CI logs). Call with each `{ done, total }`.
 */
export function createProgressRenderer(
  out: { write(text: string): unknown },
  options: ProgressRendererOptions,
): (done: number, total: number) => void {
  const now = options.now ?? Date.now;
  const start = now();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lastStep = -1;
  let finished = false;
  return (done, total) => {
    if (finished) return;
    const elapsed = now() - start;
    const line = formatProgress(options.label, done, total, elapsed);
    const complete = done >= total;
    if (options.tty) {
      if (!complete && now() - lastDraw < 100) return;
      lastDraw = now();
      out.write(`\r\x1b[K${line}${complete ? "\n" : ""}`);
    } else {
      const step = total > 0 ? Math.min(10, Math.floor((done / total) * 10)) : 10;
      if (step === lastStep) return;
      lastStep = step;
      out.write(`${line}\n`);
    }
    if (complete) finished = true;
  };
}

/**
 * Renders a push's or pull's events for a command: byte progress on stderr (redrawn in `tty`
 * mode, a line per 10 % in `plain`, none in `json` or `quiet`), and with `items` one line per
 * layer moved on stdout (`pushed ID`, `pulled ID`).
 */
export function createTransferRenderer(
  io: CliIo,
  label: string,
  options: {
    readonly items?: boolean;
    /** @default "tty" on a terminal, else "plain" */
    readonly mode?: ProgressMode;
  } = {},
): TransferEventListener {
  const mode = options.mode ?? (io.isTTY ? "tty" : "plain");
  const progress =
    mode === "tty" || mode === "plain"
      ? createProgressRenderer(io.stderr, { tty: mode === "tty", label })
      : undefined;
  return (event) => {
    if (event.type === "progress") progress?.(event.done, event.total);
    else if (options.items && event.action !== "present")
      io.stdout.write(`${event.action} ${event.id}\n`);
  };
}

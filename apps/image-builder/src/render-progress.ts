import type { CliIo, ProgressMode } from "@strata/cli-kit";
import type { ImageProgress } from "@strata/image-builder";
import { formatBytes } from "./store-options.js";

interface ProgressRenderer {
  onProgress: (event: ImageProgress) => void;
  /** Clears the status line (TTY) before the command prints its result. */
  done: () => void;
}

const BAR_WIDTH = 30;

/** A text bar: `[#########.....]  45%  270.0 MiB / 600.0 MiB`. */
export function formatBar(done: number, total: number | undefined): string {
  if (!total) return formatBytes(done);
  const ratio = Math.min(1, done / total);
  const filled = Math.round(ratio * BAR_WIDTH);
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${pct}  ${formatBytes(done)} / ${formatBytes(total)}`;
}

/** A text bar for work counted in percent (qemu-img convert). */
function formatPercentBar(percent: number): string {
  const ratio = Math.min(1, Math.max(0, percent / 100));
  const filled = Math.round(ratio * BAR_WIDTH);
  return `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${`${Math.floor(ratio * 100)}%`.padStart(4)}`;
}

/**
 * On a terminal: one status line redrawn in place (stage, latest tool output or a byte bar).
 * Elsewhere (CI, pipes): stage lines as they come, a byte line every 10 %, tool output only with
 * `verbose`. `json`: each event as one JSON object per line on stdout, with its time; `quiet`:
 * nothing.
 */
export function createProgressRenderer(
  io: CliIo,
  verbose = false,
  mode: ProgressMode = io.isTTY ? "tty" : "plain",
): ProgressRenderer {
  if (mode === "quiet") return { onProgress: () => {}, done: () => {} };
  if (mode === "json") {
    return {
      onProgress: (e) =>
        io.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`),
      done: () => {},
    };
  }
  const tty = mode === "tty";
  let stage = "";
  let status = false;
  let lastTenth = -1;
  const columns = Math.max(40, (process.stderr.columns ?? 100) - 1);
  const draw = (text: string) => {
    io.stderr.write(`\r\x1b[K${text.slice(0, columns)}`);
    status = true;
  };
  const clear = () => {
    if (status) io.stderr.write("\r\x1b[K");
    status = false;
  };
  const onProgress = (e: ImageProgress) => {
    if (e.type === "stage") {
      stage = e.stage;
      lastTenth = -1;
      if (tty) {
        clear();
        io.stderr.write(`==> ${e.message}\n`);
      } else io.stderr.write(`[${e.stage}] ${e.message}\n`);
      return;
    }
    if (e.type === "bytes") {
      if (tty) return draw(`    ${formatBar(e.done, e.total)}`);
      const tenth = e.total ? Math.floor((e.done / e.total) * 10) : -1;
      if (tenth > lastTenth) {
        lastTenth = tenth;
        io.stderr.write(`[${e.stage}] ${formatBar(e.done, e.total)}\n`);
      }
      return;
    }
    if (e.type === "percent") {
      const bar = formatPercentBar(e.percent);
      if (tty) return draw(`    ${bar}`);
      const tenth = Math.floor(e.percent / 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        io.stderr.write(`[${e.stage}] ${bar}\n`);
      }
      return;
    }
    if (verbose) {
      clear();
      io.stderr.write(`    ${e.line}\n`);
    } else if (tty && e.line.trim()) draw(`    ${stage}: ${e.line.trim()}`);
  };
  return { onProgress, done: clear };
}

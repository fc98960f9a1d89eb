/** Options of {@link createStatusLine}. */
export interface StatusLineOptions {
  /**
   * Calls `tick` every second while a line is shown; returns a function that stops it.
   * @default setInterval, unref'd (it never keeps the process alive)
   */
  every?: (tick: () => void) => () => void;
}

/** One line at the bottom of a terminal, redrawn in place while other text scrolls above it. */
interface StatusLine {
  /** Shows `text` (one line, already cut to the terminal's width) in place of the last one. */
  show(text: string): void;
  /** Removes the line, so that other text can be written where it was. */
  hide(): void;
  /** Whether a line is on screen. */
  readonly shown: boolean;
}

const ERASE_LINE = "\r\x1b[2K";

function everySecond(tick: () => void): () => void {
  const timer = setInterval(tick, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * A status line on `out` (a terminal): drawn without a newline, so the cursor stays on it, and
 * erased with CR + "erase line" before anything else is written. `refresh` is called every
 * second while the line is shown, to redraw a running clock; the timer stops when it is hidden.
 */
export function createStatusLine(
  out: { write(text: string): unknown },
  refresh: () => string | undefined,
  options: StatusLineOptions = {},
): StatusLine {
  const every = options.every ?? everySecond;
  let shown = false;
  let stop: (() => void) | undefined;
  const line: StatusLine = {
    show(text) {
      out.write(`${ERASE_LINE}${text}`);
      shown = true;
      stop ??= every(() => {
        const next = refresh();
        if (shown && next !== undefined) out.write(`${ERASE_LINE}${next}`);
      });
    },
    hide() {
      stop?.();
      stop = undefined;
      if (!shown) return;
      out.write(ERASE_LINE);
      shown = false;
    },
    get shown() {
      return shown;
    },
  };
  return line;
}

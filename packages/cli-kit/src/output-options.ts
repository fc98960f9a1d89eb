import type { CliIo } from "./io.js";
import { UsageError } from "./usage-error.js";

/** How a long-running command shows progress, after `--progress`, `--json` and `-q`. */
export type ProgressMode = "tty" | "plain" | "json" | "quiet";

const PROGRESS_VALUES = ["auto", "tty", "plain", "json"] as const;

/** `--progress`, `--json` and `-q` as every command with progress takes them (buildx's words). */
export const PROGRESS_OPTIONS = {
  progress: {
    type: "string",
    value: "auto|tty|plain|json",
    help: "auto (default): tty on a terminal, else plain; plain prints lines\nwithout redrawing; json prints one event per line on stdout",
  },
  json: { type: "boolean", help: "the same as --progress=json" },
  quiet: {
    type: "boolean",
    short: "q",
    help: "print only the result (and errors); no progress",
  },
} as const;

/** The mode the flags ask for; `auto` is `tty` on a terminal, else `plain`. */
export function resolveProgress(
  values: {
    progress?: string | undefined;
    json?: boolean | undefined;
    quiet?: boolean | undefined;
  },
  io: Pick<CliIo, "isTTY">,
): ProgressMode {
  const progress = values.progress ?? (values.json ? "json" : "auto");
  if (!(PROGRESS_VALUES as readonly string[]).includes(progress)) {
    throw new UsageError(
      `option "--progress": "${progress}" is not one of ${PROGRESS_VALUES.join(", ")}`,
    );
  }
  if (values.json && progress !== "json")
    throw new UsageError(`options "--json" and "--progress=${progress}" disagree; give one`);
  if (values.quiet && progress === "json")
    throw new UsageError('options "-q" and "--progress=json" cannot be used together');
  if (values.quiet) return "quiet";
  if (progress === "auto") return io.isTTY ? "tty" : "plain";
  return progress as ProgressMode;
}

/**
 * Colour only for a terminal, never with `NO_COLOR` set (to anything but ""; no-color.org) or
 * `TERM=dumb`, never into a pipe or file.
 */
export function shouldUseColor(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (!isTTY) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return env.TERM !== "dumb";
}

const SGR = { bold: "1", dim: "2", red: "31", green: "32", yellow: "33", cyan: "36" } as const;

/** A styling function per colour that is the identity when colour is off. */
export function createStyle(color: boolean) {
  const wrap = (code: string) => (text: string) =>
    color && text ? `\x1b[${code}m${text}\x1b[0m` : text;
  return Object.fromEntries(
    Object.entries(SGR).map(([name, code]) => [name, wrap(code)]),
  ) as Record<keyof typeof SGR, (text: string) => string>;
}

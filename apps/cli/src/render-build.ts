import type { BuildEvent } from "@strata/builder";
import { type CliIo, createStyle, type ProgressMode } from "@strata/cli-kit";
import { createOutputText } from "./output-text.js";

export interface RenderOptions {
  verbose: boolean;
  /** `json`: events on stdout; `quiet`: only the final layer ID; `tty`/`plain`: OBuilder's form. */
  mode: ProgressMode;
  /** The clock for event times. @default Date.now */
  now?: () => number;
}

/**
 * Renders build events in OBuilder's form: `<workdir>: <op>` headings, the output as it comes,
 * `---> saved as "<id>"` / `---> using "<id>" from cache`, `Got: "<id>"`. With --json, one event
 * per line on stdout (output as text), each with its `time`. `-q` prints the final ID alone.
 * Detail (-v) and warnings go to stderr. Colour only where `io.color` says so.
 */
export function createBuildRenderer(io: CliIo, o: RenderOptions): (e: BuildEvent) => void {
  // One decoder for the output: a character split across chunks comes out whole.
  const text = createOutputText();
  const now = o.now ?? Date.now;
  if (o.mode === "json") {
    const time = () => new Date(now()).toISOString();
    const output = (t: string) =>
      t && io.stdout.write(`${JSON.stringify({ time: time(), type: "output", text: t })}\n`);
    return (e) => {
      if (e.type === "output") return void output(text.push(e.chunk));
      output(text.flush());
      if (e.type === "info" && !o.verbose) return;
      io.stdout.write(`${JSON.stringify({ time: time(), ...e })}\n`);
    };
  }
  if (o.mode === "quiet") {
    return (e) => {
      if (e.type === "done") io.stdout.write(`${e.id}\n`);
      else if (e.type === "warning") io.stderr.write(`strata: [WARN] ${e.message}\n`);
    };
  }
  const style = createStyle(io.color);
  let atLineStart = true;
  // Each VM start repeats the accelerator warning: say it once per build.
  const warned = new Set<string>();
  const out = (text: string) => {
    if (text.length === 0) return;
    io.stdout.write(text);
    atLineStart = text.endsWith("\n");
  };
  const line = (text: string) => {
    if (!atLineStart) out("\n");
    out(`${text}\n`);
  };
  return (e) => {
    if (e.type !== "output") out(text.flush());
    switch (e.type) {
      case "step":
        line(style.bold(`${e.stage ? `[${e.stage}] ` : ""}${e.workdir}: ${e.op}`));
        break;
      case "output":
        out(text.push(e.chunk));
        break;
      case "saved":
        line(style.green(`---> saved as "${e.id}"`));
        break;
      case "cached":
        line(style.cyan(`---> using "${e.id}" from cache`));
        break;
      case "done":
        line(`Got: "${e.id}"`);
        break;
      case "warning":
        if (warned.has(e.message)) break;
        warned.add(e.message);
        io.stderr.write(`strata: ${style.yellow("[WARN]")} ${e.message}\n`);
        break;
      case "info":
        if (o.verbose) io.stderr.write(`strata: [INFO] ${e.message}\n`);
        break;
    }
  };
}

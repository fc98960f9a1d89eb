import type { BuildEvent } from "@strata/builder";
import type { CliIo } from "@strata/cli-kit";
import { createOutputText } from "./output-text.js";

export interface RenderOptions {
  verbose: boolean;
  json: boolean;
}

/**
 * Renders build events in OBuilder's form: `<workdir>: <op>` headings, the output as it comes,
 * `---> saved as "<id>"` / `---> using "<id>" from cache`, `Got: "<id>"`. With --json, one event
 * per line on stdout (output as text). Detail (-v) and warnings go to stderr.
 */
export function createBuildRenderer(io: CliIo, o: RenderOptions): (e: BuildEvent) => void {
  // One decoder for the output: a character split across chunks comes out whole.
  const text = createOutputText();
  if (o.json) {
    const output = (t: string) =>
      t && io.stdout.write(`${JSON.stringify({ type: "output", text: t })}\n`);
    return (e) => {
      if (e.type === "output") return void output(text.push(e.chunk));
      output(text.flush());
      if (e.type === "info" && !o.verbose) return;
      io.stdout.write(`${JSON.stringify(e)}\n`);
    };
  }
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
        line(`${e.stage ? `[${e.stage}] ` : ""}${e.workdir}: ${e.op}`);
        break;
      case "output":
        out(text.push(e.chunk));
        break;
      case "saved":
        line(`---> saved as "${e.id}"`);
        break;
      case "cached":
        line(`---> using "${e.id}" from cache`);
        break;
      case "done":
        line(`Got: "${e.id}"`);
        break;
      case "warning":
        if (warned.has(e.message)) break;
        warned.add(e.message);
        io.stderr.write(`strata: [WARN] ${e.message}\n`);
        break;
      case "info":
        if (o.verbose) io.stderr.write(`strata: [INFO] ${e.message}\n`);
        break;
    }
  };
}

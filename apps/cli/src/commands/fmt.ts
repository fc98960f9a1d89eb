import { resolve } from "node:path";
import { defineCommand, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "@strata/cli-kit";
import { printSpec } from "@strata/spec-parser";
import { SpecFileError, UsageError } from "../errors.js";
import { renderProblems } from "../render-problems.js";
import { parseSpecFile, readSpecText, STDIN_PATH } from "../spec-file.js";
import { writeFileAtomic } from "../write-atomic.js";

export const fmtCommand = defineCommand({
  name: "fmt",
  summary: "print specs in canonical form, rewrite them (-w) or check them (--check)",
  synopsis: "[--check] [-w] SPEC...",
  maxArguments: Number.POSITIVE_INFINITY,
  complete: ["file"],
  description: `Prints each SPEC ("-" for stdin) in OBuilder's canonical layout on stdout. Every spec
OBuilder's parser accepts is accepted; what OBuilder (and "strata build") refuse only when
building, such as several sources copied to a destination without a trailing "/", is printed
as a warning on stderr.`,
  options: {
    write: {
      type: "boolean",
      short: "w",
      help: "rewrite the files in place (atomically) instead of printing them",
    },
    check: {
      type: "boolean",
      help: "print nothing but the names of files not in canonical form; exit 1 if any",
    },
  },
  async run({ values, positionals }, io) {
    if (positionals.length === 0) throw new UsageError('missing SPEC; see "strata fmt --help"');
    if (values.write && values.check)
      throw new UsageError('options "-w" and "--check" cannot be used together');
    if (values.write && positionals.includes(STDIN_PATH))
      throw new UsageError('option "-w" cannot rewrite stdin ("-"); print it instead');
    let invalid = false;
    const unformatted: string[] = [];
    for (const path of positionals) {
      const file = await readSpecText(path, io);
      let canonical: string;
      try {
        const { spec, buildProblems } = parseSpecFile(file);
        canonical = printSpec(spec);
        io.stderr.write(renderProblems(buildProblems, file.text, "warning"));
      } catch (error) {
        if (!(error instanceof SpecFileError)) throw error;
        // Report every file's problems, not just the first file's.
        io.stderr.write(renderProblems(error.problems, error.source));
        invalid = true;
        continue;
      }
      if (values.check) {
        if (canonical !== file.text) unformatted.push(path);
      } else if (values.write) {
        if (canonical !== file.text) await writeFileAtomic(resolve(io.cwd, path), canonical);
      } else {
        io.stdout.write(canonical);
      }
    }
    for (const path of unformatted) io.stdout.write(`${path}\n`);
    if (unformatted.length > 0) {
      io.stderr.write(
        `${unformatted.length} file(s) not in canonical form; run "strata fmt -w" on them\n`,
      );
    }
    if (invalid) return EXIT_USAGE;
    return unformatted.length > 0 ? EXIT_FAILURE : EXIT_OK;
  },
});

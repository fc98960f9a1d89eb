import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { type DockerfileOs, printDockerfile } from "@strata/spec-parser";
import { UsageError } from "../errors.js";
import { loadSpecFile } from "../spec-file.js";

const ESCAPE_VALUES: readonly DockerfileOs[] = ["unix", "windows"];

export const dockerfileCommand = defineCommand({
  name: "dockerfile",
  summary: "print the Dockerfile equivalent of a spec",
  synopsis: "[--buildkit] [--escape unix|windows] -f SPEC",
  maxArguments: 0,
  description: `Prints the Dockerfile equivalent of SPEC on stdout, as "obuilder dockerfile" does. Every
spec OBuilder's parser accepts converts; what a build would refuse is printed as a warning.`,
  options: {
    file: {
      type: "string",
      short: "f",
      value: "SPEC",
      help: 'the spec file to convert, "-" for stdin (required)',
    },
    buildkit: {
      type: "boolean",
      help: "write caches and secrets as RUN --mount=... (BuildKit syntax)",
    },
    escape: {
      type: "string",
      value: "unix|windows",
      help: "Dockerfile escape style (OBuilder's flag): windows continues lines\nwith ` instead of \\ (default: unix)",
    },
    os: { type: "string", value: "unix|windows", help: "the same as --escape (older name)" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument "${positionals[0]}"; give the spec with -f SPEC`);
    }
    if (values.file === undefined)
      throw new UsageError('missing "-f SPEC"; see "strata dockerfile --help"');
    if (values.escape !== undefined && values.os !== undefined && values.escape !== values.os)
      throw new UsageError('options "--escape" and "--os" disagree; give one of them');
    const flag = values.escape !== undefined ? "--escape" : "--os";
    const style = values.escape ?? values.os ?? "unix";
    if (!(ESCAPE_VALUES as readonly string[]).includes(style)) {
      throw new UsageError(`option "${flag}" must be "unix" or "windows", got "${style}"`);
    }
    const spec = await loadSpecFile(values.file, io);
    io.stdout.write(
      printDockerfile(spec, { buildkit: values.buildkit ?? false, os: style as DockerfileOs }),
    );
    return EXIT_OK;
  },
});

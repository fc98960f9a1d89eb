import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { type DockerfileOs, printDockerfile } from "@strata/spec-parser";
import { UsageError } from "../errors.js";
import { loadSpecFile } from "../spec-file.js";

const OS_VALUES: readonly DockerfileOs[] = ["unix", "windows"];

export const dockerfileCommand = defineCommand({
  name: "dockerfile",
  summary: "print the Dockerfile equivalent of a spec",
  synopsis: "[--buildkit] [--os unix|windows] -f SPEC",
  description: `Prints the Dockerfile equivalent of SPEC on stdout.`,
  options: {
    file: {
      type: "string",
      short: "f",
      value: "SPEC",
      help: "the spec file to convert (required)",
    },
    buildkit: {
      type: "boolean",
      help: "write caches and secrets as RUN --mount=... (BuildKit syntax)",
    },
    os: {
      type: "string",
      value: "unix|windows",
      help: "target OS; windows output uses ` as escape character (default: unix)",
    },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument "${positionals[0]}"; give the spec with -f SPEC`);
    }
    if (values.file === undefined)
      throw new UsageError('missing "-f SPEC"; see "strata dockerfile --help"');
    const os = values.os ?? "unix";
    if (!(OS_VALUES as readonly string[]).includes(os)) {
      throw new UsageError(`option "--os" must be "unix" or "windows", got "${os}"`);
    }
    const spec = await loadSpecFile(values.file, io);
    io.stdout.write(
      printDockerfile(spec, { buildkit: values.buildkit ?? false, os: os as DockerfileOs }),
    );
    return EXIT_OK;
  },
});

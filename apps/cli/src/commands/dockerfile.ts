import { type DockerfileOs, printDockerfile } from "@strata/spec-parser";
import { type Command, parseCommandArgs } from "../command.js";
import { UsageError } from "../errors.js";
import { EXIT_OK } from "../exit-codes.js";
import { loadSpecFile } from "../spec-file.js";

const OS_VALUES: readonly DockerfileOs[] = ["unix", "windows"];

export const dockerfileCommand: Command = {
  name: "dockerfile",
  summary: "print the Dockerfile equivalent of a spec",
  usage: `usage: strata dockerfile [--buildkit] [--os unix|windows] -f SPEC

Prints the Dockerfile equivalent of SPEC on stdout.

options:
  -f, --file SPEC   the spec file to convert (required)
  --buildkit        write caches and secrets as RUN --mount=... (BuildKit syntax)
  --os unix|windows target OS; windows output uses \` as escape character (default: unix)
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("dockerfile", argv, {
      file: { type: "string", short: "f" },
      buildkit: { type: "boolean" },
      os: { type: "string" },
    });
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
};

import { describe, expect, it } from "vitest";
import { type Command, defineCommand } from "./command.js";
import { EXIT_CODES } from "./exit-code-table.js";
import { captureIo } from "./io.js";
import type { KnownErrorClass } from "./known-error.js";
import { type Program, runMain } from "./run-main.js";
import { UsageError } from "./usage-error.js";

class StepError extends Error {
  readonly code = "BUILD_STEP_FAILED";
}

const echo = defineCommand({
  name: "echo",
  aliases: ["say"],
  summary: "print the arguments",
  synopsis: ["[-n] WORD...", "--upper WORD..."],
  maxArguments: Number.POSITIVE_INFINITY,
  description: "Prints each WORD.",
  options: {
    newline: { type: "boolean", short: "n", help: "no newline at the end" },
    upper: { type: "boolean", help: "in capitals\nASCII only" },
    sep: { type: "string", value: "TEXT", help: "between words" },
  },
  async run({ values, positionals }, io) {
    const text = positionals.join(values.sep ?? " ");
    io.stdout.write(`${values.upper ? text.toUpperCase() : text}${values.newline ? "" : "\n"}`);
    return 0;
  },
});

function thrower(error: unknown): Command {
  return defineCommand({
    name: "fail",
    summary: "throws",
    synopsis: "",
    maxArguments: 0,
    options: {},
    run: async () => Promise.reject(error),
  });
}

async function run(argv: string[], commands: Command[] = [echo]) {
  const program: Program = {
    name: "prog",
    version: "1.2.3",
    commands,
    knownErrors: [UsageError, StepError],
  };
  const captured = captureIo("/");
  const code = await runMain(program, argv, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe("runMain: conventions of both apps", () => {
  it("prints the version for --version", async () => {
    expect(await run(["--version"])).toEqual({ code: 0, stdout: "prog 1.2.3\n", stderr: "" });
  });

  it("suggests the nearest command (or alias) for an unknown one", async () => {
    expect((await run(["ecoh"])).stderr).toBe(
      'prog: unknown command "ecoh"; see "prog --help". Did you mean "echo"?\n',
    );
    expect((await run(["sya"])).stderr).toContain('Did you mean "say"?');
    expect((await run(["fa"], [echo, thrower(new Error())])).stderr).toContain(
      'Did you mean "fail"?',
    );
    expect(await run(["completely-else"])).toEqual({
      code: 2,
      stdout: "",
      stderr: 'prog: unknown command "completely-else"; see "prog --help".\n',
    });
  });

  it("refuses extra arguments before the command runs", async () => {
    expect(await run(["fail", "extra"], [thrower(new StepError())])).toEqual({
      code: 2,
      stdout: "",
      stderr: 'prog: "prog fail" takes no arguments, got "extra"; see "prog fail --help"\n',
    });
    const one = defineCommand({ ...echo, maxArguments: 1 } as Command);
    expect(await run(["echo", "a", "b"], [one])).toEqual({
      code: 2,
      stdout: "",
      stderr: 'prog: unexpected argument "b"; see "prog echo --help"\n',
    });
    const two = defineCommand({ ...echo, maxArguments: 2, arguments: ["NAME", "REF"] } as Command);
    expect(await run(["echo", "a"], [two])).toEqual({
      code: 2,
      stdout: "",
      stderr: 'prog: expected NAME REF; see "prog echo --help"\n',
    });
    expect(await run(["echo", "a", "b"], [two])).toEqual({ code: 0, stdout: "a b\n", stderr: "" });
  });

  it("lists aliases beside the names in the program's help", async () => {
    expect((await run(["--help"])).stdout).toContain("  echo (say)  print the arguments\n");
  });
});

describe("runMain", () => {
  it("parses the flags of the command's option table and runs it, also by an alias", async () => {
    expect(await run(["say", "--upper", "--sep=-", "a", "b"])).toEqual({
      code: 0,
      stdout: "A-B\n",
      stderr: "",
    });
  });

  it("generates the command's help from its synopsis, description and options", async () => {
    expect((await run(["echo", "--help"])).stdout).toBe(`usage: prog echo [-n] WORD...
       prog echo --upper WORD...

Prints each WORD.

options:
  -n, --newline     no newline at the end
  --upper           in capitals
                    ASCII only
  --sep TEXT        between words
`);
  });

  it("rejects a flag the table does not list, naming it, with exit 2", async () => {
    expect(await run(["echo", "--loud"])).toEqual({
      code: 2,
      stdout: "",
      stderr: 'prog: unknown option "--loud" for "prog echo"; see "prog echo --help"\n',
    });
  });

  it("maps a known error's code through the one table", async () => {
    expect(await run(["fail"], [thrower(new StepError("the step failed"))])).toEqual({
      code: EXIT_CODES.BUILD_STEP_FAILED,
      stdout: "",
      stderr: "prog: the step failed\n",
    });
  });

  it("prints the stack of an error that only looks known, such as Node's ENOENT", async () => {
    const enoent = Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" });
    const result = await run(["fail"], [thrower(enoent)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^prog: unexpected error; please report it\nError: ENOENT.*\n\s+at /,
    );
  });

  it("reports an abort as an interruption", async () => {
    const abort = new DOMException("This operation was aborted", "AbortError");
    expect(await run(["fail"], [thrower(abort)])).toMatchObject({
      code: 130,
      stderr: "prog: interrupted\n",
    });
  });

  it("lets a service's own status stand after a stop signal; other commands exit 130", async () => {
    const stopped = (service: boolean) =>
      defineCommand({
        name: "serve",
        summary: "runs until stopped",
        synopsis: "",
        maxArguments: 0,
        service,
        options: {},
        run: async (_args, io) => {
          await new Promise((done) => io.signal.addEventListener("abort", done, { once: true }));
          return 0;
        },
      });
    for (const [service, code] of [
      [true, 0],
      [false, 130],
    ] as const) {
      const controller = new AbortController();
      const captured = captureIo("/", { signal: controller.signal });
      const program: Program = {
        name: "prog",
        version: "1",
        commands: [stopped(service)],
        knownErrors: [],
      };
      const running = runMain(program, ["serve"], captured.io);
      controller.abort();
      expect(await running).toBe(code);
    }
  });

  it("accepts as known only classes whose code the exit-code table maps", () => {
    class Foreign extends Error {
      readonly code = "NOT_MAPPED";
    }
    // @ts-expect-error the compiler refuses a class whose code has no exit status
    const refused: KnownErrorClass[] = [Foreign];
    const accepted: KnownErrorClass[] = [StepError, UsageError];
    expect(refused.length + accepted.length).toBe(3);
  });
});

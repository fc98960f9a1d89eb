import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { CliIo } from "@strata/cli-kit";
import { parseSpec, type Spec, type SpecProblem } from "@strata/spec-parser";
import { InputError, SpecFileError } from "./errors.js";
import { renderProblems } from "./render-problems.js";

/** The spec path that means standard input (`-f -`, `strata fmt -`). */
export const STDIN_PATH = "-";
/** The file name problems in a spec read from stdin carry. */
const STDIN_NAME = "<stdin>";

async function readStdin(io: CliIo): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin ?? []) {
    io.signal.throwIfAborted();
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** A spec file read from disk: its text and, when valid, the parsed spec. */
interface SpecFile {
  readonly path: string;
  readonly text: string;
}

/** Line and column (1-based, counting characters) of the first byte that is not UTF-8. */
function firstInvalidUtf8(bytes: Uint8Array): { line: number; column: number } | undefined {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  try {
    decoder.decode(bytes);
    return undefined;
  } catch {}
  // Find the longest valid prefix by halving, then place it.
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const ok = (() => {
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
        return true;
      } catch {
        return false;
      }
    })();
    if (ok) lo = mid;
    else hi = mid - 1;
  }
  // The valid prefix may end in the start of a sequence that the next byte breaks: that start
  // is the first bad byte.
  const before = new TextDecoder("utf-8").decode(bytes.subarray(0, lo), { stream: true });
  const lines = before.split("\n");
  return { line: lines.length, column: [...(lines.at(-1) ?? "")].length + 1 };
}

/**
 * Reads a file that must be UTF-8, exactly: a missing or unreadable file, or one holding bytes
 * that are not UTF-8, is an {@link InputError} (never replaced by U+FFFD, so `fmt -w` can never
 * rewrite a file it did not read exactly).
 */
export async function readSpecText(path: string, io: CliIo): Promise<SpecFile> {
  if (path === STDIN_PATH) return decodeSpec(STDIN_NAME, await readStdin(io));
  let bytes: Buffer;
  try {
    bytes = await readFile(resolve(io.cwd, path), { signal: io.signal });
  } catch (error) {
    if (io.signal.aborted) throw error;
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error);
    throw new InputError(`cannot read spec "${path}": ${reason}; check the path`, { cause: error });
  }
  return decodeSpec(path, bytes);
}

function decodeSpec(path: string, bytes: Uint8Array): SpecFile {
  const bad = firstInvalidUtf8(bytes);
  if (bad)
    throw new InputError(
      `spec "${path}" is not valid UTF-8 (first bad byte at ${bad.line}:${bad.column}); save it as UTF-8`,
    );
  // ignoreBOM keeps a byte order mark in the text, so what is written back is what was read.
  return { path, text: new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes) };
}

/** A parsed spec file and what a build of it would refuse (OBuilder checks these at build). */
interface ParsedSpecFile {
  readonly spec: Spec;
  readonly buildProblems: readonly SpecProblem[];
}

/** Parses a spec file's text; problems become a {@link SpecFileError} carrying the text. */
export function parseSpecFile(file: SpecFile): ParsedSpecFile {
  const result = parseSpec(file.text, { file: file.path });
  if (!result.ok) throw new SpecFileError(result.code, result.problems, file.text);
  return { spec: result.spec, buildProblems: result.buildProblems };
}

/**
 * Reads and parses a spec file (`-` is stdin). With `build`, the build-time checks are errors
 * (reported before any VM starts); without, they are printed as warnings on stderr.
 */
export async function loadSpecFile(
  path: string,
  io: CliIo,
  options: { readonly build?: boolean } = {},
): Promise<Spec> {
  const file = await readSpecText(path, io);
  const { spec, buildProblems } = parseSpecFile(file);
  if (buildProblems.length > 0) {
    if (options.build) throw new SpecFileError("SPEC_INVALID", buildProblems, file.text);
    io.stderr.write(renderProblems(buildProblems, file.text, "warning"));
  }
  return spec;
}

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { CliIo } from "@strata/cli-kit";
import { parseSpec, type Spec } from "@strata/spec-parser";
import { InputError, SpecFileError } from "./errors.js";

/** A spec file read from disk: its text and, when valid, the parsed spec. */
export interface SpecFile {
  readonly path: string;
  readonly text: string;
}

/** Reads a file as UTF-8; a missing or unreadable file is an {@link InputError}. */
export async function readSpecText(path: string, io: CliIo): Promise<SpecFile> {
  try {
    const text = await readFile(resolve(io.cwd, path), { encoding: "utf8", signal: io.signal });
    return { path, text };
  } catch (error) {
    if (io.signal.aborted) throw error;
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error);
    throw new InputError(`cannot read spec "${path}": ${reason}; check the path`, { cause: error });
  }
}

/** Parses a spec file's text; problems become a {@link SpecFileError} carrying the text. */
export function parseSpecFile(file: SpecFile): Spec {
  const result = parseSpec(file.text, { file: file.path });
  if (!result.ok) throw new SpecFileError(result.code, result.problems, file.text);
  return result.spec;
}

/** Reads and parses a spec file. */
export async function loadSpecFile(path: string, io: CliIo): Promise<Spec> {
  return parseSpecFile(await readSpecText(path, io));
}

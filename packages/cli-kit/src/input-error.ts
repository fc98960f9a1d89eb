/** Codes of the errors the apps themselves throw. */
export type CliErrorCode = "USAGE" | "INPUT_UNREADABLE";

/** An input file named on the command line cannot be read. Exit code 2. */
export class InputError extends Error {
  override readonly name = "InputError";
  readonly code = "INPUT_UNREADABLE";
}

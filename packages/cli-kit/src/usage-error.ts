/** Wrong command line: unknown command or flag, missing or bad value. Exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code = "USAGE";
}

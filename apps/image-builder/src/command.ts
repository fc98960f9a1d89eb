import { UsageError } from "@strata/cli-kit";

/** The positionals a command takes, exactly `names.length` of them, or a usage error. */
export function requirePositionals(
  positionals: readonly string[],
  names: readonly string[],
  command: string,
): string[] {
  if (positionals.length !== names.length)
    throw new UsageError(`expected ${names.join(" ")}; see "strata-image ${command} --help"`);
  return [...positionals];
}

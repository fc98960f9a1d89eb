import { UsageError } from "@strata/cli-kit";

/** `--queue URL`, as the fleet commands take it. */
export const QUEUE_OPTION = {
  queue: {
    type: "string",
    value: "URL",
    help: "the fleet's Redis: redis://[USER:PASSWORD@]HOST:PORT[/DB], or rediss://\nfor TLS (default: $STRATA_QUEUE)",
  },
} as const;

/** `--queue URL`, or `$STRATA_QUEUE` when the flag is not given; checked by the fleet package. */
export async function queueUrl(
  value: string | undefined,
  env: NodeJS.ProcessEnv,
  command: string,
): Promise<URL> {
  const text = value ?? env.STRATA_QUEUE;
  if (text === undefined || text === "")
    throw new UsageError(
      `"strata ${command}" needs --queue redis://HOST:PORT (or STRATA_QUEUE); see "strata ${command} --help"`,
    );
  const { parseQueueUrl } = await import("@strata/fleet");
  return parseQueueUrl(text);
}

/** Seconds → milliseconds for a positive-number flag. */
export function seconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(n > 0))
    throw new UsageError(`option "${flag}": "${text}" is not a positive number of seconds`);
  return n * 1000;
}

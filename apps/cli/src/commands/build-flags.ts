import type { BuildRegistryOptions } from "@strata/builder";
import {
  type CliIo,
  createTransferRenderer,
  openRegistry,
  type ProgressMode,
  REGISTRY_OPTIONS,
  UsageError,
} from "@strata/cli-kit";

/** `--registry` and its companions, as `strata build` and `strata worker` take them. */
export const BUILD_REGISTRY_OPTIONS = {
  registry: {
    type: "string",
    value: "REF",
    help: "HOST[:PORT]/REPO: a registry as shared cache; a missing layer is\npulled instead of built, a built one pushed (docs/registry.md); a\nregistry problem is a warning and a cache miss, never a failure.\nWith --queue: the fleet's registry, where a context over 8 MiB travels",
  },
  "registry-mode": {
    type: "string",
    value: "M",
    help: "pull, push or both (default: both)",
  },
  "registry-states": { type: "boolean", help: "move saved VM states with the layers" },
  ...REGISTRY_OPTIONS,
} as const;

/** A flag's positive number, or a usage error naming it. */
export function positiveNumber(
  text: string | undefined,
  flag: string,
  integer: boolean,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(n > 0) || (integer && !Number.isInteger(n)))
    throw new UsageError(
      `option "${flag}": "${text}" is not a positive ${integer ? "whole " : ""}number`,
    );
  return n;
}

/** A flag's value from a closed set, or a usage error listing the set. */
export function oneOf<T extends string>(
  text: string | undefined,
  flag: string,
  allowed: readonly T[],
): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text))
    throw new UsageError(`option "${flag}": "${text}" is not one of ${allowed.join(", ")}`);
  return text as T;
}

/** `--registry` and its companions, checked: what `runBuild` takes as `registry`. */
export function registryOptions(
  values: {
    readonly registry?: string | undefined;
    readonly "registry-mode"?: string | undefined;
    readonly "registry-states"?: boolean | undefined;
    readonly "insecure-registry"?: boolean | undefined;
  },
  io: CliIo,
  /** How transfers show progress; `quiet` for none. @default tty or plain, from the terminal */
  { progress }: { readonly progress?: ProgressMode } = {},
): BuildRegistryOptions | undefined {
  const mode = oneOf(values["registry-mode"], "--registry-mode", ["pull", "push", "both"] as const);
  if (values.registry === undefined) {
    for (const flag of ["registry-mode", "registry-states", "insecure-registry"] as const) {
      if (values[flag] !== undefined)
        throw new UsageError(`option "--${flag}" needs --registry REF`);
    }
    return undefined;
  }
  const { client, reference } = openRegistry(values.registry, {
    insecure: values["insecure-registry"],
    repositoryOnly: "strata build --help",
  });
  return {
    client,
    repository: reference.repository,
    mode: mode ?? "both",
    states: values["registry-states"] ?? false,
    ...(progress === "quiet"
      ? {}
      : { onTransfer: createTransferRenderer(io, "registry", progress ? { mode: progress } : {}) }),
  };
}

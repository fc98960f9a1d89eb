import { createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { RunOp, Spec } from "@strata/spec-parser";
import { SecretMissingError } from "./errors.js";
import type { SecretDigest } from "./layer-id.js";

/** Secret values by ID, read from `--secret ID:FILE`. Never logged, never in a layer. */
export type SecretValues = ReadonlyMap<string, Buffer>;

/** Parses `--secret ID:FILE` flags and reads the files. */
export async function loadSecrets(flags: readonly string[]): Promise<SecretValues> {
  const values = new Map<string, Buffer>();
  for (const flag of flags) {
    const i = flag.indexOf(":");
    if (i <= 0 || i === flag.length - 1)
      throw new SecretMissingError(flag, `--secret takes ID:FILE (got "${flag}")`);
    const id = flag.slice(0, i);
    const file = flag.slice(i + 1);
    try {
      values.set(id, await readFile(file));
    } catch (err) {
      throw new SecretMissingError(
        id,
        `secret "${id}": cannot read ${file}: ${(err as Error).message}`,
      );
    }
  }
  return values;
}

function* runOps(spec: Spec): Generator<RunOp> {
  for (const b of spec.builds) yield* runOps(b.spec);
  for (const op of spec.ops) if (op.op === "run") yield op;
}

/** Fails before any VM starts when a step needs a secret that was not given. */
export function checkSecrets(spec: Spec, values: SecretValues): void {
  for (const run of runOps(spec))
    for (const s of run.secrets)
      if (!values.has(s.id))
        throw new SecretMissingError(
          s.id,
          `the spec needs secret "${s.id}": pass it with --secret ${s.id}:FILE`,
        );
}

/**
 * What a secret adds to its step's layer ID: an HMAC-SHA256 of its value keyed with the store's
 * own random key (see `ensureSecretKey`), never a plain hash that guesses could be tested against.
 */
export function secretDigest(id: string, target: string, value: Buffer, key: Buffer): SecretDigest {
  return { id, target, hmac: createHmac("sha256", key).update(value).digest("hex") };
}

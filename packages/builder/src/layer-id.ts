import { createHash } from "node:crypto";
import type { User } from "@strata/spec-parser";
import type { BuildContext } from "./build-context.js";
import type { CopyManifestEntry } from "./copy-manifest.js";

/** A secret as it enters a layer ID: never its value, only a keyed hash of it (per store). */
export interface SecretDigest {
  readonly id: string;
  readonly target: string;
  /** HMAC-SHA256 of the value with the store's secret key, hex. */
  readonly hmac: string;
}

function userKey(user: User): string {
  return "name" in user ? `name:${user.name}` : `${user.uid}:${user.gid}`;
}

function digest(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** ID of the first layer: the base image's name (and its identity, when known). */
export function baseLayerId(base: string, baseIdentity = ""): string {
  return digest(["from", base, baseIdentity]);
}

/** ID of a `run` layer: everything that decides what the command does. Caches are left out. */
export function runLayerId(
  parent: string,
  ctx: BuildContext,
  command: string,
  network: readonly string[],
  secrets: readonly SecretDigest[],
): string {
  return digest([
    "run",
    parent,
    command,
    ctx.shell,
    ctx.workdir,
    userKey(ctx.user),
    ctx.env,
    network.includes("host") ? "host" : "none",
    secrets.map((s) => [s.id, s.target, s.hmac]),
  ]);
}

/** ID of a `copy` layer: user, destination and the manifest of what is copied. */
export function copyLayerId(
  parent: string,
  ctx: BuildContext,
  dst: string,
  manifest: readonly CopyManifestEntry[],
  fromBuild?: string,
): string {
  return digest([
    "copy",
    parent,
    userKey(ctx.user),
    dst,
    fromBuild ?? null,
    manifest.map((e) => [e.dest, e.type, e.sha256 ?? null, e.executable, e.linkTarget ?? null]),
  ]);
}

import type { SourceLocation } from "./problem.js";

/** A build: optional named child builds, a base, then operations. */
export interface Spec {
  readonly builds: readonly ChildBuild[];
  readonly from: string;
  readonly ops: readonly Op[];
}

/** `(build NAME SPEC)`: a stage whose result later `copy` operations can read. */
export interface ChildBuild {
  readonly name: string;
  readonly spec: Spec;
}

/** A cache or secret entry: `(ID (target PATH) (buildkit_options (K V)...)?)`. */
export interface Mount {
  readonly id: string;
  readonly target: string;
  readonly buildkitOptions: readonly (readonly [string, string])[];
}

export type CacheMount = Mount;
export type SecretMount = Mount;

export interface CommentOp {
  readonly op: "comment";
  readonly text: string;
}

export interface WorkdirOp {
  readonly op: "workdir";
  readonly dir: string;
}

export interface ShellOp {
  readonly op: "shell";
  readonly args: readonly string[];
}

export interface RunOp {
  readonly op: "run";
  readonly cache: readonly CacheMount[];
  readonly network: readonly string[];
  readonly secrets: readonly SecretMount[];
  readonly shell: string;
}

/** Where `copy` reads from: the build context or the result of a named child build. */
export type CopySource = "context" | { readonly build: string };

export interface CopyOp {
  readonly op: "copy";
  readonly from: CopySource;
  readonly src: readonly string[];
  readonly dst: string;
  readonly exclude: readonly string[];
}

export interface UnixUser {
  readonly uid: number;
  readonly gid: number;
}

export interface NamedUser {
  readonly name: string;
}

export type User = UnixUser | NamedUser;

export interface UserOp {
  readonly op: "user";
  readonly user: User;
}

export interface EnvOp {
  readonly op: "env";
  readonly name: string;
  readonly value: string;
}

export type Op = CommentOp | WorkdirOp | ShellOp | RunOp | CopyOp | UserOp | EnvOp;

export type OpName = Op["op"];

/** The operation names, in the order the language reference lists them. */
export const OP_NAMES: readonly OpName[] = [
  "comment",
  "workdir",
  "shell",
  "run",
  "copy",
  "user",
  "env",
];

/**
 * Source places of parsed nodes (specs, child builds, operations, mounts), kept apart from the
 * AST so that a parsed spec deep-equals the same spec made in code.
 */
export type SpecLocations = WeakMap<object, SourceLocation>;

export type {
  CacheMount,
  ChildBuild,
  CommentOp,
  CopyOp,
  CopySource,
  EnvOp,
  Mount,
  NamedUser,
  Op,
  OpName,
  RunOp,
  SecretMount,
  ShellOp,
  Spec,
  SpecLocations,
  UnixUser,
  User,
  UserOp,
  WorkdirOp,
} from "./ast.js";
export { OP_NAMES } from "./ast.js";
export type { CopyOptions, MountOptions, RunOptions, SecretOptions } from "./builder.js";
export { cacheMount, SpecBuilder, secretMount, spec } from "./builder.js";
export { checkSpec } from "./check-spec.js";
export type { DockerfileOptions, DockerfileOs } from "./dockerfile.js";
export { printDockerfile, WINDOWS_ADMIN_USER } from "./dockerfile.js";
export type { SpecErrorCode } from "./errors.js";
export { DockerfileError, SpecError } from "./errors.js";
export { SPEC_KEYWORDS } from "./keywords.js";
export type { ParseSpecOptions, SpecResult } from "./parse-spec.js";
export { parseSpec, parseSpecOrThrow } from "./parse-spec.js";
export { printOperation, printSpec } from "./print-spec.js";
export type { SourceLocation, SpecProblem } from "./problem.js";
export { DEFAULT_SPEC_FILE, formatProblem } from "./problem.js";
export { mustQuote, printAtom } from "./quote-atom.js";
export type { ReadOptions } from "./read-sexp.js";
export { MAX_SPEC_NESTING, readSexp } from "./read-sexp.js";
export type { ReadResult, SexpAtom, SexpList, SexpNode } from "./sexp.js";
export { PRINTED_SPEC_FILE, validateSpec } from "./validate-spec.js";

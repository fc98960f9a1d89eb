import { OP_NAMES } from "./ast.js";
import { COPY_RULES } from "./parse-copy.js";
import { USER_RULES } from "./parse-op.js";
import { MOUNT_FIELD_USAGE, RUN_RULES } from "./parse-run.js";

/**
 * Every keyword the parser reads, by where it appears, taken from the tables the parser itself
 * checks fields against (so a field added there shows up here). The language reference
 * (docs/spec-language.md) has a heading for each; a test keeps the two in step.
 */
export const SPEC_KEYWORDS = {
  /** A spec's own items: `((build NAME SPEC)* (from BASE) OP*)`. */
  spec: ["build", "from"],
  operation: OP_NAMES,
  run: Object.keys(RUN_RULES.usage),
  copy: Object.keys(COPY_RULES.usage),
  /** The values of copy's `(from ...)`: `context` or `(build NAME)`. */
  copySource: ["context", "build"],
  /** Fields of a cache or secret entry. */
  mount: Object.keys(MOUNT_FIELD_USAGE),
  user: Object.keys(USER_RULES.usage),
} as const satisfies Readonly<Record<string, readonly string[]>>;

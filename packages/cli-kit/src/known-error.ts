import type { KnownErrorCode } from "./exit-code-table.js";

/** An error a strata package throws on purpose: it has a stable code from {@link KnownErrorCode}. */
export type KnownError = Error & { readonly code: KnownErrorCode };

/**
 * A base class of known errors (`StoreError`, `QemuError`, ...). The compiler refuses a class
 * whose `code` is not in the exit-code table, so listing one is the proof it is mapped.
 */
// biome-ignore lint/suspicious/noExplicitAny: any constructor signature; only `instanceof` is used
export type KnownErrorClass = abstract new (...args: any[]) => KnownError;

/**
 * Whether `error` is one of ours: an instance of a listed base class. An object that merely has
 * a string `code` (Node's `ENOENT`, a library's error) is not: it is a bug to report, with a stack.
 */
export function isKnownError(
  error: unknown,
  classes: readonly KnownErrorClass[],
): error is KnownError {
  return classes.some((known) => error instanceof known);
}

/** An abort: Node's `AbortError` (code `ABORT_ERR`) or the DOMException `signal.throwIfAborted()` throws. */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

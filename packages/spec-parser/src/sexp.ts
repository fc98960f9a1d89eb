import type { SpecProblem } from "./problem.js";

/** An atom read from a spec file, with the position of its first character (or opening quote). */
export interface SexpAtom {
  readonly kind: "atom";
  readonly value: string;
  readonly quoted: boolean;
  readonly line: number;
  readonly column: number;
}

/** A list read from a spec file, with the position of its `(`. */
export interface SexpList {
  readonly kind: "list";
  readonly items: readonly SexpNode[];
  readonly line: number;
  readonly column: number;
}

export type SexpNode = SexpAtom | SexpList;

/** Result of reading text: the one S-expression, or the syntax problems found. */
export type ReadResult =
  | { readonly ok: true; readonly value: SexpNode }
  | { readonly ok: false; readonly problems: readonly SpecProblem[] };

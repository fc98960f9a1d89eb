import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_SPEC_NESTING, parseSpec, SPEC_KEYWORDS } from "@strata/spec-parser";
import type { Tokens } from "marked";
import { describe, expect, it } from "vitest";
import { listHeadings, REPO_ROOT, readMarkdown } from "./markdown.js";

const DOC = "docs/spec-language.md";

/** The keywords a heading names in code spans: "`run` fields: `cache`" names run and cache. */
function keywordsOf(heading: string): string[] {
  return [...heading.matchAll(/`\(?([a-z_]+)[^`]*`/g)].map((match) => match[1]!);
}

describe(DOC, () => {
  const tokens = readMarkdown(DOC);
  const named = new Set(listHeadings(tokens).flatMap(keywordsOf));

  it.each(Object.entries(SPEC_KEYWORDS).flatMap(([where, words]) => words.map((w) => [w, where])))(
    "has a heading for `%s` (%s)",
    (keyword) => {
      expect(named).toContain(keyword);
    },
  );

  it("every spec example (```scheme blocks) parses and passes the build checks", () => {
    const examples = tokens.filter(
      (token): token is Tokens.Code => token.type === "code" && token.lang === "scheme",
    );
    expect(examples.length).toBeGreaterThan(5);
    for (const example of examples) {
      const result = parseSpec(example.text, { file: DOC });
      expect(result.ok ? result.buildProblems : result.problems, example.text).toEqual([]);
    }
  });

  it("names the nesting limit the reader enforces", () => {
    expect(readFileSync(join(REPO_ROOT, DOC), "utf8")).toContain(
      `at most ${MAX_SPEC_NESTING} deep`,
    );
  });
});

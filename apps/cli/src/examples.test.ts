import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseSpec, printSpec } from "@strata/spec-parser";
import { describe, expect, it } from "vitest";

const examplesDir = join(import.meta.dirname, "..", "..", "..", "examples");

describe("examples/ at the repository root", () => {
  const specs = readdirSync(examplesDir).filter((name) => name.endsWith(".spec"));

  it("has examples", () => {
    expect(specs.length).toBeGreaterThanOrEqual(2);
  });

  it.each(specs)("%s parses and is in canonical form", (name) => {
    const text = readFileSync(join(examplesDir, name), "utf8");
    const result = parseSpec(text, { file: name });
    if (!result.ok)
      throw new Error(result.problems.map((p) => `${p.line}:${p.column}: ${p.message}`).join("\n"));
    expect(printSpec(result.spec)).toBe(text);
  });
});

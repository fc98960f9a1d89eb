import { describe, expect, it } from "vitest";
import { renderProblems } from "./render-problems.js";

describe("renderProblems", () => {
  it("shows each problem with its source line and a caret under the column", () => {
    const source = "((from a)\n\t(rnu x)\r\n (env))\n";
    const problems = [
      { file: "s.spec", line: 2, column: 3, message: "unknown operation" },
      { file: "s.spec", line: 3, column: 2, message: "bad env" },
    ];
    expect(renderProblems(problems, source)).toBe(
      "s.spec:2:3: unknown operation\n  \t(rnu x)\n  \t ^\ns.spec:3:2: bad env\n   (env))\n   ^\n",
    );
  });

  it("prints only the position line when the source line is unknown", () => {
    expect(renderProblems([{ file: "f", line: 9, column: 1, message: "m" }], "x")).toBe(
      "f:9:1: m\n",
    );
  });
});

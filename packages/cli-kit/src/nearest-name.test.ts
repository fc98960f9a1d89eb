import { describe, expect, it } from "vitest";
import { editDistance, nearestName } from "./nearest-name.js";

describe("nearestName", () => {
  const names = ["build", "dockerfile", "fmt", "ls", "rm", "prune", "clean", "inspect"];

  it("finds typos, swaps and unique prefixes", () => {
    expect(nearestName("biuld", names)).toBe("build");
    expect(nearestName("buidl", names)).toBe("build");
    expect(nearestName("dockerfil", names)).toBe("dockerfile");
    expect(nearestName("insp", names)).toBe("inspect");
    expect(nearestName("lss", names)).toBe("ls");
  });

  it("suggests nothing for a word far from every name", () => {
    expect(nearestName("xyzzy", names)).toBeUndefined();
    expect(nearestName("q", names)).toBeUndefined();
  });

  it("counts edits", () => {
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("abc", "abc")).toBe(0);
    expect(editDistance("ab", "ba")).toBe(1);
  });
});

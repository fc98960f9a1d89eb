import { parseSpecOrThrow } from "@strata/spec-parser";
import { describe, expect, it } from "vitest";
import { listStages, selectStages } from "./select-stages.js";

const spec = parseSpecOrThrow(
  `((build base ((from b) (run (shell "make base"))))
    (build tools ((from b) (copy (from (build base)) (src /out) (dst /in))))
    (build docs ((from b) (run (shell "make docs"))))
    (build app ((from b) (copy (from (build tools)) (src /x) (dst /y))))
    (from b))`,
  { file: "t.spec" },
);
const names = (target: string | undefined) => selectStages(spec, target).map((b) => b.name);

describe("selectStages", () => {
  it("keeps every stage for the whole spec", () => {
    expect(names(undefined)).toEqual(["base", "tools", "docs", "app"]);
    expect(listStages(spec)).toEqual(["base", "tools", "docs", "app"]);
  });

  it("keeps a target and the stages it copies from, transitively, in spec order", () => {
    expect(names("app")).toEqual(["base", "tools", "app"]);
    expect(names("tools")).toEqual(["base", "tools"]);
    expect(names("docs")).toEqual(["docs"]);
  });

  it("refuses an unknown stage, listing the stages there are", () => {
    expect(() => selectStages(spec, "ap")).toThrow(
      expect.objectContaining({
        code: "SPEC_INVALID",
        message: 'no stage "ap"; the spec\'s stages are: base, tools, docs, app',
      }),
    );
    const single = parseSpecOrThrow("((from b))", { file: "t.spec" });
    expect(() => selectStages(single, "x")).toThrow(/has no named builds/);
  });
});

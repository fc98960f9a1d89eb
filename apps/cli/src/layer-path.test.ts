import { describe, expect, it } from "vitest";
import { UsageError } from "./errors.js";
import { checkOutputPaths, parseLayerPath } from "./layer-path.js";

describe("parseLayerPath", () => {
  it("splits at the first colon; the path keeps later ones", () => {
    expect(parseLayerPath("3f9a:/etc/os-release")).toEqual({
      layer: "3f9a",
      path: "/etc/os-release",
    });
    expect(parseLayerPath("3f9a:/a:b")).toEqual({ layer: "3f9a", path: "/a:b" });
  });

  it("refuses a missing colon, layer or absolute path as usage errors", () => {
    for (const bad of ["./out", ":/etc", "3f9a:", "3f9a:etc/passwd"])
      expect(() => parseLayerPath(bad)).toThrow(UsageError);
  });
});

describe("checkOutputPaths", () => {
  it("takes absolute paths with distinct names", () => {
    expect(() => checkOutputPaths(["/opt/app", "/etc/app.conf", "/usr/bin/"])).not.toThrow();
  });

  it("refuses relative paths, the root, and two paths landing on the same name", () => {
    expect(() => checkOutputPaths(["opt/app"])).toThrow(/absolute/);
    expect(() => checkOutputPaths(["/"])).toThrow(/absolute/);
    expect(() => checkOutputPaths(["/a/bin", "/b/bin/"])).toThrow(/both land in DIR as "bin"/);
  });
});

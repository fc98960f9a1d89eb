import { describe, expect, it } from "vitest";
import { placeCopy, splitGuestSource } from "./copy-out-plan.js";

describe("splitGuestSource", () => {
  it("splits a normalised absolute path into tar's -C directory and name", () => {
    expect(splitGuestSource("/etc/os-release")).toEqual({
      path: "/etc/os-release",
      dir: "/etc",
      name: "os-release",
    });
    expect(splitGuestSource("/opt/app/")).toMatchObject({ dir: "/opt", name: "app" });
    expect(splitGuestSource("/a/./b/../c")).toMatchObject({ path: "/a/c", name: "c" });
    expect(splitGuestSource("/top")).toMatchObject({ dir: "/", name: "top" });
  });

  it("refuses relative paths, the root and NUL with COPY_OUT_PATH_INVALID", () => {
    for (const bad of ["etc/passwd", "", "/", "/..", "//", "/a\0b"])
      expect(() => splitGuestSource(bad)).toThrow(
        expect.objectContaining({ code: "COPY_OUT_PATH_INVALID" }),
      );
  });
});

describe("placeCopy (docker cp's DEST rules)", () => {
  it("copies into an existing directory", () => {
    expect(placeCopy("app", "out", "directory", "directory")).toEqual({
      target: "out/app",
      parent: "out",
    });
    expect(placeCopy("app", "out/", "directory", "directory").target).toBe("out/app");
  });

  it("takes DEST as the new name when it is not a directory, if its parent is one", () => {
    expect(placeCopy("app", "out/new", "missing", "directory")).toEqual({
      target: "out/new",
      parent: "out",
    });
    expect(placeCopy("f", "out/file", "other", "directory").target).toBe("out/file");
  });

  it("refuses a DEST/ that is not an existing directory, and a DEST without a parent", () => {
    for (const [dest, kind, parent] of [
      ["gone/", "missing", "directory"],
      ["file/", "other", "directory"],
      ["no/such/x", "missing", "missing"],
      ["file/x", "missing", "other"],
    ] as const)
      expect(() => placeCopy("a", dest, kind, parent)).toThrow(
        expect.objectContaining({ code: "COPY_OUT_DEST_INVALID" }),
      );
  });
});

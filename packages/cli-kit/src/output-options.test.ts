import { describe, expect, it } from "vitest";
import { createStyle, resolveProgress, shouldUseColor } from "./output-options.js";
import { resolveStoreRoot } from "./store-option.js";

describe("resolveProgress", () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };

  it("auto is tty on a terminal and plain elsewhere", () => {
    expect(resolveProgress({}, tty)).toBe("tty");
    expect(resolveProgress({}, pipe)).toBe("plain");
    expect(resolveProgress({ progress: "auto" }, pipe)).toBe("plain");
  });

  it("takes the mode asked for, --json as json and -q as quiet", () => {
    expect(resolveProgress({ progress: "plain" }, tty)).toBe("plain");
    expect(resolveProgress({ progress: "tty" }, pipe)).toBe("tty");
    expect(resolveProgress({ json: true }, tty)).toBe("json");
    expect(resolveProgress({ json: true, progress: "json" }, tty)).toBe("json");
    expect(resolveProgress({ quiet: true }, tty)).toBe("quiet");
  });

  it("refuses unknown modes and contradictions, naming the flags", () => {
    expect(() => resolveProgress({ progress: "fancy" }, tty)).toThrow(
      'option "--progress": "fancy" is not one of auto, tty, plain, json',
    );
    expect(() => resolveProgress({ progress: "plain", json: true }, tty)).toThrow(
      'options "--json" and "--progress=plain" disagree',
    );
    expect(() => resolveProgress({ quiet: true, json: true }, tty)).toThrow(/"-q"/);
  });
});

describe("shouldUseColor", () => {
  it("colours a terminal only, never with NO_COLOR or TERM=dumb", () => {
    expect(shouldUseColor(true, { TERM: "xterm-256color" })).toBe(true);
    expect(shouldUseColor(false, { TERM: "xterm-256color" })).toBe(false);
    expect(shouldUseColor(true, { NO_COLOR: "1" })).toBe(false);
    expect(shouldUseColor(true, { NO_COLOR: "" })).toBe(true);
    expect(shouldUseColor(true, { TERM: "dumb" })).toBe(false);
  });

  it("styles are the identity without colour", () => {
    expect(createStyle(false).red("x")).toBe("x");
    expect(createStyle(true).red("x")).toBe("\x1b[31mx\x1b[0m");
  });
});

describe("resolveStoreRoot", () => {
  it("takes STRATA_STORE when --store is not given, in the same forms", () => {
    expect(resolveStoreRoot(undefined, "/cwd", { STRATA_STORE: "qemu:/s" })).toBe("/s");
    expect(resolveStoreRoot(undefined, "/cwd", { STRATA_STORE: "rel" })).toBe("/cwd/rel");
    expect(resolveStoreRoot("/flag", "/cwd", { STRATA_STORE: "/env" })).toBe("/flag");
    expect(resolveStoreRoot(undefined, "/cwd", { STRATA_STORE: "", XDG_DATA_HOME: "/x" })).toBe(
      "/x/strata",
    );
  });
});

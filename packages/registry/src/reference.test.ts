import { describe, expect, it } from "vitest";
import { InvalidReferenceError } from "./errors.js";
import { formatReference, isLoopbackRegistry, parseReference } from "./reference.js";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("parseReference", () => {
  it("splits host, port, repository, tag and digest", () => {
    expect(parseReference("127.0.0.1:5000/strata")).toEqual({
      registry: "127.0.0.1:5000",
      repository: "strata",
    });
    expect(parseReference("ghcr.io/org/strata-cache:v1")).toEqual({
      registry: "ghcr.io",
      repository: "org/strata-cache",
      tag: "v1",
    });
    expect(parseReference(`[::1]:5000/a/b@${DIGEST}`)).toEqual({
      registry: "[::1]:5000",
      repository: "a/b",
      digest: DIGEST,
    });
  });

  it("round-trips through formatReference", () => {
    for (const text of ["localhost:5000/a", "r.example/x/y:t", `r.example/x@${DIGEST}`]) {
      expect(formatReference(parseReference(text))).toBe(text);
    }
  });

  it.each([
    ["strata", "names no registry host"],
    ["127.0.0.1:5000/Upper", "repository must be lowercase"],
    ["127.0.0.1:5000/a/../b", "repository must be lowercase"],
    ["127.0.0.1:5000/a:bad/tag", "tag is malformed"],
    ["127.0.0.1:5000/a@sha256:12", "digest is not"],
    ["bad host/a", "host is malformed"],
  ])("refuses %s", (input, reason) => {
    expect(() => parseReference(input)).toThrow(InvalidReferenceError);
    expect(() => parseReference(input)).toThrow(reason);
  });
});

describe("isLoopbackRegistry", () => {
  it("accepts only loopback hosts", () => {
    expect(isLoopbackRegistry("127.0.0.1:5000")).toBe(true);
    expect(isLoopbackRegistry("127.1.2.3")).toBe(true);
    expect(isLoopbackRegistry("localhost:5000")).toBe(true);
    expect(isLoopbackRegistry("[::1]:5000")).toBe(true);
    expect(isLoopbackRegistry("10.0.0.1:5000")).toBe(false);
    expect(isLoopbackRegistry("127.0.0.1.example.com")).toBe(false);
    expect(isLoopbackRegistry("registry.example:443")).toBe(false);
  });
});

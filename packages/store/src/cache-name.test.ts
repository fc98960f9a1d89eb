import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeCacheName, unescapeCacheName } from "./cache-name.js";
import { InvalidCacheNameError } from "./errors.js";

describe("escapeCacheName", () => {
  it("keeps plain names and escapes the rest with two zero-padded hex digits", () => {
    expect(escapeCacheName("opam-archives")).toBe("opam-archives");
    expect(escapeCacheName("a/b")).toBe("a%2Fb");
    expect(escapeCacheName("a\nb")).toBe("a%0Ab");
    expect(escapeCacheName("..")).toBe("%2E%2E");
    expect(escapeCacheName("%")).toBe("%25");
    expect(escapeCacheName("Cache")).toBe("%43ache");
    expect(escapeCacheName("é")).toBe("%C3%A9");
  });

  it("never maps two names to one directory (nor to names equal up to case)", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (a, b) => {
          fc.pre(a !== b);
          expect(escapeCacheName(a).toLowerCase()).not.toBe(escapeCacheName(b).toLowerCase());
        },
      ),
    );
  });

  it("round-trips and yields safe file names", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60, unit: "binary" }), (name) => {
        const escaped = escapeCacheName(name);
        expect(escaped).toMatch(/^[a-z0-9_%A-F-]+$/);
        expect(unescapeCacheName(escaped)).toBe(name);
      }),
    );
  });

  it("rejects empty and over-long names", () => {
    expect(() => escapeCacheName("")).toThrow(InvalidCacheNameError);
    expect(() => escapeCacheName("/".repeat(100))).toThrow(/more than a file name/);
    expect(() => unescapeCacheName("%2f")).toThrow(InvalidCacheNameError);
  });
});

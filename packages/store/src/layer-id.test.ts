import { describe, expect, it } from "vitest";
import { AmbiguousLayerIdError, InvalidLayerIdError, LayerNotFoundError } from "./errors.js";
import { matchLayerId } from "./layer-id.js";

const A = `abcd${"0".repeat(60)}`;
const B = `abcd${"1".repeat(60)}`;
const C = `ef01${"2".repeat(60)}`;

describe("matchLayerId", () => {
  it("takes a full ID or an unambiguous prefix of 4 characters or more", () => {
    expect(matchLayerId(A, [A, B, C])).toBe(A);
    expect(matchLayerId("ef01", [A, B, C])).toBe(C);
    expect(matchLayerId("abcd0", [A, B, C])).toBe(A);
  });

  it("lists the candidates of an ambiguous prefix", () => {
    expect(() => matchLayerId("abcd", [A, B, C])).toThrow(AmbiguousLayerIdError);
    try {
      matchLayerId("abcd", [B, A, C]);
    } catch (error) {
      expect((error as AmbiguousLayerIdError).candidates).toEqual([A, B]);
      expect((error as AmbiguousLayerIdError).code).toBe("LAYER_ID_AMBIGUOUS");
      expect((error as Error).message).toContain(`${A}, ${B}`);
    }
  });

  it("refuses prefixes under 4 characters or not hex, and reports one that matches nothing", () => {
    expect(() => matchLayerId("abc", [A])).toThrow(InvalidLayerIdError);
    expect(() => matchLayerId("ABCD", [A])).toThrow(InvalidLayerIdError);
    expect(() => matchLayerId("../x", [A])).toThrow(InvalidLayerIdError);
    expect(() => matchLayerId("9999", [A, B])).toThrow(LayerNotFoundError);
  });
});

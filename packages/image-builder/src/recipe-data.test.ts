import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { DEFAULT_DEBIAN_RECIPE } from "./debian-recipe.js";

describe("images/debian-bookworm/recipe.json", () => {
  it("is the recipe the code builds (so the data cannot drift from it)", async () => {
    const url = new URL("../../../images/debian-bookworm/recipe.json", import.meta.url);
    expect(JSON.parse(await readFile(url, "utf8"))).toEqual(DEFAULT_DEBIAN_RECIPE);
  });
});

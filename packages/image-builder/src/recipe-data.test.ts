import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ARM64_DEBIAN_RECIPE, DEFAULT_DEBIAN_RECIPE, debianRecipeKey } from "./debian-recipe.js";

describe("images/*/recipe.json", () => {
  it.each([
    ["debian-bookworm", DEFAULT_DEBIAN_RECIPE],
    ["debian-bookworm-arm64", ARM64_DEBIAN_RECIPE],
  ])("%s is the recipe the code builds (so the data cannot drift from it)", async (dir, recipe) => {
    const url = new URL(`../../../images/${dir}/recipe.json`, import.meta.url);
    expect(JSON.parse(await readFile(url, "utf8"))).toEqual(recipe);
  });

  it("the amd64 recipe's key is unchanged (a new key rebuilds every machine's test image)", () => {
    // Bump this only together with a change to the image that is worth that rebuild.
    expect(debianRecipeKey(DEFAULT_DEBIAN_RECIPE)).toBe("0576aa4b5ee73f8c");
    expect(debianRecipeKey(ARM64_DEBIAN_RECIPE)).not.toBe("0576aa4b5ee73f8c");
  });
});

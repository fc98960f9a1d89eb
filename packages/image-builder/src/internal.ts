// strata's own tests only; no promise of stability. The public surface is index.ts.
export { ARM64_DEBIAN_RECIPE, DEFAULT_DEBIAN_RECIPE, debianRecipeKey } from "./debian-recipe.js";
export { removeBuildDir } from "./remove-build-dir.js";

export { buildDebianImage } from "./build-debian.js";
export type { BuildDebianImageOptions, BuiltImage } from "./build-debian.js";
export {
  DEBIAN_KERNEL_CMDLINE,
  DEBIAN_RECIPE_REVISION,
  DEFAULT_DEBIAN_PACKAGES,
  DEFAULT_DEBIAN_RECIPE,
  debianRecipeKey,
  debianSetupScript,
  validateDebianRecipe,
} from "./debian-recipe.js";
export type { DebianRecipe } from "./debian-recipe.js";
export { ImageBuildError, ImageCommandError, ImageInputError, MissingToolError } from "./errors.js";
export type { ImageProgress, ImageProgressListener } from "./progress.js";

// The public surface: building, customising, booting, moving and managing base images. Helpers
// only strata's own tests use are in "@strata/image-builder/internal"; the work-directory
// reaper is "@strata/image-builder/work-dir".
export type { ExportImageOptions } from "./archive-export.js";
export { exportImage } from "./archive-export.js";
export type { ImportImageOptions } from "./archive-import.js";
export { importImage } from "./archive-import.js";
export type {
  BaseImageDetails,
  BaseImageSummary,
  BaseImageUsers,
  RemoveBaseImageOptions,
  RemovedBaseImage,
} from "./base-images.js";
export {
  BaseImageInUseError,
  describeBrokenUsers,
  findBaseImageUsers,
  inspectBaseImage,
  listBaseImages,
  removeBaseImage,
} from "./base-images.js";
export type { BuildDebianImageOptions, BuiltImage } from "./build-debian.js";
export { buildDebianImage } from "./build-debian.js";
export type { BuildRecipeOptions, RecipeName } from "./build-recipe.js";
export { buildRecipe, RECIPES } from "./build-recipe.js";
export type { CloudConfigOptions, CloudInitFile, CloudInitUser } from "./cloud-init.js";
export { cloudConfig, cloudMetaData } from "./cloud-init.js";
export type { CustomisedImage, CustomiseImageOptions } from "./customise.js";
export { customiseImage, DEFAULT_CUSTOMISE_TIMEOUT_MS, SETUP_CD_LABEL } from "./customise.js";
export type { DebianRecipe } from "./debian-recipe.js";
export type { ImageErrorCode } from "./errors.js";
export {
  ArchiveError,
  DownloadError,
  FirstBootError,
  ImageBuildError,
  ImageCommandError,
  ImageExistsError,
  ImageInputError,
  ImageNotFoundError,
} from "./errors.js";
export type { FirstBootResult, RunFirstBootOptions } from "./first-boot.js";
export { DEFAULT_FIRST_BOOT_TIMEOUT_MS, firstBootManifest, runFirstBoot } from "./first-boot.js";
export type { SavedImage } from "./image-files.js";
export type { InstalledImage, InstalledSsh, InstallImageOptions } from "./install.js";
export { DEFAULT_INSTALL_TIMEOUT_MS, INSTALL_CD_LABEL, installImage } from "./install.js";
export type { ImageProgress, ImageProgressListener, ImageStage } from "./progress.js";
export type {
  PullBaseImageOptions,
  PulledBaseImage,
  PushBaseImageOptions,
} from "./registry-image.js";
export { pullBaseImage, pushBaseImage } from "./registry-image.js";
export type { RunImageOptions, RunImageResult } from "./run-image.js";
export { runImage } from "./run-image.js";
export type { ExportTaskclusterOptions, ImportTaskclusterOptions } from "./taskcluster-archive.js";
export {
  exportTaskclusterImage,
  importTaskclusterImage,
  isTaskclusterArchive,
} from "./taskcluster-archive.js";
export type { BuildUbuntuImageOptions } from "./ubuntu.js";
export { buildUbuntuImage } from "./ubuntu.js";
export type { BuildWindowsImageOptions } from "./windows.js";
export { buildWindowsImage, DEFAULT_WINDOWS_INSTALL_TIMEOUT_MS } from "./windows.js";

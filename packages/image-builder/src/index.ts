export type { BuildDebianImageOptions, BuiltImage } from "./build-debian.js";
export { buildDebianImage } from "./build-debian.js";
export type { CloudConfigOptions, CloudInitFile, CloudInitUser } from "./cloud-init.js";
export { cloudConfig, cloudMetaData, noCloudUrlCmdline, parsePhoneHome } from "./cloud-init.js";
export type { CustomisedImage, CustomiseImageOptions } from "./customise.js";
export {
  customiseImage,
  DEFAULT_CUSTOMISE_TIMEOUT_MS,
  SETUP_CD_LABEL,
  setupCommand,
} from "./customise.js";
export type { DebianRecipe } from "./debian-recipe.js";
export {
  DEBIAN_KERNEL_CMDLINE,
  DEBIAN_RECIPE_REVISION,
  DEFAULT_DEBIAN_PACKAGES,
  DEFAULT_DEBIAN_RECIPE,
  debianRecipeKey,
  debianSetupScript,
  validateDebianRecipe,
} from "./debian-recipe.js";
export {
  ArchiveError,
  DownloadError,
  FirstBootError,
  ImageBuildError,
  ImageCommandError,
  ImageExistsError,
  ImageInputError,
  ImageNotFoundError,
  MissingToolError,
} from "./errors.js";
export type { FirstBootResult, RunFirstBootOptions } from "./first-boot.js";
export {
  DEFAULT_FIRST_BOOT_TIMEOUT_MS,
  DEFAULT_POWER_OFF_GRACE_MS,
  firstBootManifest,
  runFirstBoot,
} from "./first-boot.js";
export type { IsoListing, WriteIsoOptions } from "./iso.js";
export { listIso, writeIso } from "./iso.js";
export type {
  MetadataRequest,
  MetadataService,
  StartMetadataServiceOptions,
} from "./metadata-service.js";
export {
  METADATA_ADDRESS,
  METADATA_URL,
  PHONE_HOME_URL,
  startMetadataService,
} from "./metadata-service.js";
export type { NoCloudSeed, WriteSeedIsoOptions } from "./nocloud-seed.js";
export { NOCLOUD_LABEL, seedFiles, writeSeedIso } from "./nocloud-seed.js";
export type { ImageProgress, ImageProgressListener } from "./progress.js";

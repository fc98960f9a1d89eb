export type { ExportImageOptions } from "./archive-export.js";
export { ARCHIVE_SUMS, exportImage } from "./archive-export.js";
export type { ImportImageOptions } from "./archive-import.js";
export { checkEntryName, DEFAULT_MAX_ENTRY_BYTES, importImage } from "./archive-import.js";
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
export { buildRecipe, checkRecipeOptions, RECIPES } from "./build-recipe.js";
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
export type { DownloadFileOptions, DownloadResult } from "./download.js";
export { downloadFile, fetchPublishedSha256, parseSha256Sums, sha256File } from "./download.js";
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
  MissingToolError,
} from "./errors.js";
export type { FirstBootResult, RunFirstBootOptions } from "./first-boot.js";
export {
  DEFAULT_FIRST_BOOT_TIMEOUT_MS,
  DEFAULT_POWER_OFF_GRACE_MS,
  firstBootManifest,
  runFirstBoot,
} from "./first-boot.js";
export type { InstalledImage, InstalledSsh, InstallImageOptions } from "./install.js";
export {
  DEFAULT_INSTALL_TIMEOUT_MS,
  INSTALL_CD_LABEL,
  installImage,
  MAX_INSTALL_SIZE_GIB,
  readMachineFile,
} from "./install.js";
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
  phoneHomeUrl,
  startMetadataService,
} from "./metadata-service.js";
export type { NoCloudSeed, WriteSeedIsoOptions } from "./nocloud-seed.js";
export { NOCLOUD_LABEL, seedFiles, writeSeedIso } from "./nocloud-seed.js";
export type { ImageProgress, ImageProgressListener } from "./progress.js";
export { readQcow2Backing } from "./qcow2-header.js";
export type {
  BaseImageRecord,
  PullBaseImageOptions,
  PulledBaseImage,
  PushBaseImageOptions,
} from "./registry-image.js";
export { pullBaseImage, pushBaseImage } from "./registry-image.js";
export { removeBuildDir } from "./remove-build-dir.js";
export type { RunImageOptions, RunImageResult } from "./run-image.js";
export { runImage } from "./run-image.js";
export type { ExportTaskclusterOptions, ImportTaskclusterOptions } from "./taskcluster-archive.js";
export {
  checkTaskclusterListing,
  DEFAULT_MAX_TASKCLUSTER_DISK_BYTES,
  exportTaskclusterImage,
  importTaskclusterImage,
  isTaskclusterArchive,
  TASKCLUSTER_MEMBERS,
} from "./taskcluster-archive.js";
export type { BuildUbuntuImageOptions } from "./ubuntu.js";
export { buildUbuntuImage, UBUNTU_NOBLE_FILE, UBUNTU_NOBLE_URL } from "./ubuntu.js";
export type { BuildWindowsImageOptions, WriteUnattendIsoOptions } from "./windows.js";
export {
  buildWindowsImage,
  DEFAULT_WINDOWS_INSTALL_TIMEOUT_MS,
  UNATTEND_CD_LABEL,
  writeUnattendIso,
} from "./windows.js";
export type { WindowsUnattendOptions } from "./windows-unattend.js";
export { windowsSetupScript, windowsUnattendXml } from "./windows-unattend.js";
export type { ReapReport } from "./work-dir.js";
export {
  createWorkDir,
  reapStaleLeftovers,
  reapStaleWorkDirs,
  WORK_OWNER_FILE,
} from "./work-dir.js";

/**
 * The stages of image work, in the order a recipe meets them: what `--json` consumers match on
 * (the `message` of a stage event is for people and may change).
 */
export const IMAGE_STAGES = [
  "download", // fetching a cloud image or an ISO
  "verify", // its checksum
  "mmdebstrap", // building a Debian tree from packages
  "unpack", // the tree's tarball, under fakeroot
  "mkfs", // an ext4 file system from the tree
  "iso", // a seed or setup CD
  "disk", // the new image's disk
  "overlay", // a work overlay on the base image
  "install", // an unattended installer's run
  "boot", // booting the image to customise it
  "setup", // the setup script in the guest
  "first-boot", // the first boot (cloud-init, an installer's reboot)
  "shutdown", // powering the guest off
  "convert", // qemu-img convert and compaction
  "layer", // a layer saved as a base image (`run --save`)
  "extract", // reading an archive
  "archive", // writing an archive
  "checksum", // an archive's checksums
  "pack", // packing an archive
  "cleanup", // removing work files
  "done", // the image is in the store
] as const;
export type ImageStage = (typeof IMAGE_STAGES)[number];

/** Progress of long image work; libraries emit these, apps render them. */
export type ImageProgress =
  | { type: "stage"; stage: ImageStage; message: string }
  | { type: "output"; stage: ImageStage; line: string }
  | { type: "bytes"; stage: ImageStage; done: number; total: number | undefined }
  | { type: "percent"; stage: ImageStage; percent: number };

export type ImageProgressListener = (event: ImageProgress) => void;

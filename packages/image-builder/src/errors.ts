/** Stable codes of every error image-builder throws; callers branch on these, never on messages. */
export type ImageErrorCode =
  | "IMAGE_BUILD_FAILED"
  | "IMAGE_INPUT_INVALID"
  | "IMAGE_ARCHIVE_INVALID"
  | "IMAGE_NOT_FOUND"
  | "IMAGE_EXISTS"
  | "IMAGE_IN_USE"
  | "IMAGE_DOWNLOAD_FAILED"
  | "IMAGE_CHECKSUM_MISMATCH"
  | "IMAGE_FIRST_BOOT_TIMEOUT"
  | "IMAGE_FIRST_BOOT_FAILED";

/** Base class of image-builder errors: a stable `code`, the cause, and a message that says what to do. */
export class ImageBuildError extends Error {
  readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A command run while building an image failed. */
export class ImageCommandError extends ImageBuildError {
  constructor(
    readonly step: string,
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly outputTail: string,
    options?: { cause?: unknown },
  ) {
    super(
      "IMAGE_BUILD_FAILED",
      `${step} failed (exit ${exitCode ?? "?"}): ${command}\n${outputTail}`,
      options,
    );
  }
}

/** Input to a recipe or an image command is invalid. */
export class ImageInputError extends ImageBuildError {
  constructor(message: string) {
    super("IMAGE_INPUT_INVALID", message);
  }
}

/** A first boot (cloud-init, Windows Setup, a customise script) did not finish as it should. */
export class FirstBootError extends ImageBuildError {
  constructor(
    code: "IMAGE_FIRST_BOOT_TIMEOUT" | "IMAGE_FIRST_BOOT_FAILED",
    message: string,
    readonly consoleTail: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${message}\n--- serial console (last lines) ---\n${consoleTail}`, options);
  }
}

/** A download failed, or its checksum did not match the published one. */
export class DownloadError extends ImageBuildError {
  constructor(
    code: "IMAGE_DOWNLOAD_FAILED" | "IMAGE_CHECKSUM_MISMATCH",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** An image archive that must not be imported: bad checksum, unsafe path, link, too large. */
export class ArchiveError extends ImageBuildError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("IMAGE_ARCHIVE_INVALID", message, options);
  }
}

/** No base image of that name in the store. */
export class ImageNotFoundError extends ImageBuildError {
  constructor(
    readonly imageName: string,
    readonly dir: string,
  ) {
    super("IMAGE_NOT_FOUND", `no base image "${imageName}" in ${dir}; see "strata-image list"`);
  }
}

/** The target base image exists already. */
export class ImageExistsError extends ImageBuildError {
  constructor(
    readonly imageName: string,
    readonly dir: string,
  ) {
    super(
      "IMAGE_EXISTS",
      `base image "${imageName}" already exists in ${dir}; remove it first ("strata-image rm ${imageName}"), rebuild it with "strata-image build --force", or pick another name`,
    );
  }
}

/** Base class of image-builder errors: a stable `code`, the cause, and a message that says what to do. */
export class ImageBuildError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A host tool the recipe needs is missing. */
export class MissingToolError extends ImageBuildError {
  constructor(
    readonly tool: string,
    readonly debianPackage: string,
  ) {
    super(
      "IMAGE_TOOL_MISSING",
      `${tool} is not installed; install it with: apt-get install -y ${debianPackage}`,
    );
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

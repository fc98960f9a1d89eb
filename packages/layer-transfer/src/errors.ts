/** Every `code` a {@link TransferError} carries. */
export type TransferErrorCode = "ARTIFACT_REFUSED" | "ARTIFACT_NOT_FOUND" | "TRANSFER_ZSTD";

/** Base class of layer-transfer errors; callers branch on `code`. */
export class TransferError extends Error {
  readonly code: TransferErrorCode;
  constructor(code: TransferErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A pulled artifact is malformed or asks for something a store must not do: nothing was added. */
export class ArtifactRefusedError extends TransferError {
  readonly reference: string;
  constructor(reference: string, reason: string) {
    super(
      "ARTIFACT_REFUSED",
      `Refused ${reference}: ${reason}. Nothing was added to the store; the registry holds a bad or hostile artifact, so push it again from a trusted store.`,
    );
    this.reference = reference;
  }
}

/** A layer or base image asked for is not in the registry. */
export class ArtifactNotFoundError extends TransferError {
  constructor(reference: string) {
    super(
      "ARTIFACT_NOT_FOUND",
      `${reference} is not in the registry: push it first (\`strata push\` or \`strata-image push\`).`,
    );
  }
}

/** Every `code` a {@link RegistryError} carries. */
export type RegistryErrorCode =
  | "REGISTRY_REFERENCE_INVALID"
  | "REGISTRY_INSECURE"
  | "REGISTRY_UNREACHABLE"
  | "REGISTRY_TIMEOUT"
  | "REGISTRY_AUTH"
  | "REGISTRY_DENIED"
  | "REGISTRY_NOT_FOUND"
  | "REGISTRY_DIGEST_MISMATCH"
  | "REGISTRY_PROTOCOL"
  | "REGISTRY_CREDENTIAL_HELPER"
  | "REGISTRY_CONFIG_INVALID";

/** Base class of every error the registry client throws; callers branch on `code`, never on the message. */
export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  constructor(code: RegistryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A reference (`HOST[:PORT]/REPO[:TAG|@DIGEST]`), repository name, tag or digest is malformed. */
export class InvalidReferenceError extends RegistryError {
  readonly input: string;
  constructor(input: string, reason: string) {
    super(
      "REGISTRY_REFERENCE_INVALID",
      `Invalid registry reference ${JSON.stringify(input)}: ${reason}. Expected HOST[:PORT]/REPOSITORY (for example 127.0.0.1:5000/strata).`,
    );
    this.input = input;
  }
}

/** Plain HTTP was asked for a host that is not loopback without the explicit opt-in. */
export class InsecureRegistryError extends RegistryError {
  readonly host: string;
  constructor(host: string) {
    super(
      "REGISTRY_INSECURE",
      `Refusing plain HTTP to ${host}: only loopback registries may use HTTP. Serve the registry over TLS, or pass --insecure-registry if you accept that anyone on the path can read and change what moves.`,
    );
    this.host = host;
  }
}

/** The registry could not be reached, or the connection broke and retries ran out. */
export class RegistryUnreachableError extends RegistryError {
  readonly url: string;
  constructor(url: string, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? `: ${describeCause(options.cause)}` : "";
    super(
      "REGISTRY_UNREACHABLE",
      `Cannot reach the registry at ${url}${reason}. Check that it is running and that the host and port are right.`,
      options,
    );
    this.url = url;
  }
}

/** The registry answered 401: credentials are missing or were refused. */
export class RegistryAuthError extends RegistryError {
  readonly host: string;
  readonly scope: string | undefined;
  constructor(host: string, hadCredentials: boolean, scope?: string) {
    super(
      "REGISTRY_AUTH",
      hadCredentials
        ? `The registry ${host} refused the credentials for ${scope ?? "this request"}. Check the entry for "${host}" in ~/.docker/config.json (auths or credHelpers), or log in again with \`docker login ${host}\`.`
        : `The registry ${host} needs credentials for ${scope ?? "this request"} and none were found: add an entry for "${host}" to ~/.docker/config.json (\`docker login ${host}\`), or set DOCKER_CONFIG to the directory holding the right config.json.`,
    );
    this.host = host;
    this.scope = scope;
  }
}

/** The registry answered 403: the credentials are valid but lack the permission asked for. */
export class RegistryDeniedError extends RegistryError {
  constructor(url: string, action: string) {
    super(
      "REGISTRY_DENIED",
      `The registry denied ${action} on ${url}: the account lacks that permission. Ask the registry's administrator for it, or use a repository you may write to.`,
    );
  }
}

/** A manifest, tag or blob is not in the registry (404). */
export class RegistryNotFoundError extends RegistryError {
  readonly what: string;
  constructor(what: string) {
    super(
      "REGISTRY_NOT_FOUND",
      `${what} is not in the registry. Check the reference, or push it first.`,
    );
    this.what = what;
  }
}

/** Bytes received do not hash to the digest they were asked for: nothing was kept. */
export class DigestMismatchError extends RegistryError {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string, actual: string) {
    super(
      "REGISTRY_DIGEST_MISMATCH",
      `${what}: expected digest ${expected} but the bytes hash to ${actual}. The registry or something on the path altered the content; nothing was kept. Retry, and report the registry if it repeats.`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** The registry answered something the distribution protocol does not allow here. */
export class RegistryProtocolError extends RegistryError {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super("REGISTRY_PROTOCOL", message, options);
    this.status = status;
  }
}

/** A registry request ran past its time limit. */
export class RegistryTimeoutError extends RegistryError {
  constructor(url: string, timeoutMs: number) {
    super(
      "REGISTRY_TIMEOUT",
      `The registry at ${url} did not answer within ${timeoutMs} ms. Check its load and the network, or raise the timeout.`,
    );
  }
}

/** A credential helper named in the Docker config failed or printed something unreadable. */
export class CredentialHelperError extends RegistryError {
  constructor(helper: string, host: string, detail: string) {
    super(
      "REGISTRY_CREDENTIAL_HELPER",
      `The credential helper docker-credential-${helper} failed for ${host}: ${detail}. Check that it is installed and on PATH, or remove it from ~/.docker/config.json.`,
    );
  }
}

function describeCause(error: Error): string {
  const inner = error.cause instanceof Error ? error.cause : undefined;
  const code = (inner as NodeJS.ErrnoException | undefined)?.code;
  return code ? `${error.message} (${code})` : error.message;
}

export type { PullBlobOptions, PullBlobResult } from "./blob-pull.js";
export { DEFAULT_RESUME_ATTEMPTS } from "./blob-pull.js";
export type { AuthChallenge } from "./challenge.js";
export { parseChallenges, repositoryScope } from "./challenge.js";
export type {
  BlobSource,
  CallOptions,
  FetchedManifest,
  PushBlobOptions,
  PushBlobResult,
  RegistryClientOptions,
} from "./client.js";
export { DEFAULT_CONCURRENCY, DEFAULT_MAX_MANIFEST_BYTES, RegistryClient } from "./client.js";
export type {
  CredentialResolver,
  CredentialSource,
  Credentials,
  DockerConfig,
  DockerConfigCredentialsOptions,
} from "./credentials.js";
export {
  dockerConfigCredentials,
  dockerConfigPath,
  readDockerConfig,
  runCredentialHelper,
  selectCredentialSource,
} from "./credentials.js";
export { createDigester, digestOf, verifyDigest } from "./digest.js";
export type { RegistryErrorCode } from "./errors.js";
export {
  CredentialHelperError,
  DigestMismatchError,
  InsecureRegistryError,
  InvalidReferenceError,
  RegistryAuthError,
  RegistryDeniedError,
  RegistryError,
  RegistryNotFoundError,
  RegistryProtocolError,
  RegistryTimeoutError,
  RegistryUnreachableError,
} from "./errors.js";
export { DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_RETRIES } from "./http.js";
export { embedData, encodeManifest, parseOciManifest } from "./manifest.js";
export type { Descriptor, OciManifest } from "./media-types.js";
export {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  MANIFEST_ACCEPT,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
} from "./media-types.js";
export type { Reference } from "./reference.js";
export {
  formatReference,
  isDigest,
  isLoopbackRegistry,
  isRepositoryName,
  isTag,
  parseReference,
  registryHostname,
} from "./reference.js";
export { Semaphore } from "./semaphore.js";
export { sleep } from "./sleep.js";

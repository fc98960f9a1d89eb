export {
  type ConnectOptions,
  connectSsh,
  DEFAULT_BOOT_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  type WaitForSshOptions,
  waitForSsh,
} from "./connect.js";
export {
  SshAuthFailedError,
  SshCancelledError,
  SshCommandError,
  SshConnectionLostError,
  SshError,
  type SshErrorCode,
  SshHostKeyMismatchError,
  SshKeyError,
  SshOptionsError,
  SshTimeoutError,
  SshTransferError,
  TarRefusedError,
} from "./errors.js";
export { DEFAULT_MAX_BUFFER, type ExecOptions, type ExecResult } from "./exec.js";
export {
  DEFAULT_TAR_MAX_BYTES,
  DEFAULT_TAR_MAX_ENTRIES,
  type ExtractTarOptions,
  extractTar,
  linkEscapes,
  splitEntryName,
} from "./extract-tar.js";
export { hostKeyFingerprint, type PinnedHostKey, parseHostKey } from "./host-key.js";
export {
  createKeyFileOnce,
  type EnsureKeyPairOptions,
  ensureKeyPair,
  type KeyPair,
  publicKeyLine,
} from "./keys.js";
export {
  buildCommandLine,
  type CommandLineOptions,
  invalidEnvNames,
  POSIX_SH,
  type RunAs,
  type ShellDialect,
} from "./quote.js";
export {
  DEFAULT_SFTP_CHUNK_SIZE,
  DEFAULT_SFTP_CONCURRENCY,
  type GetTarOptions,
  type SessionSettings,
  SshSession,
  type TarOptions,
  type TransferOptions,
} from "./session.js";
export type { OpenShellOptions, ShellSession } from "./shell.js";
export { packDirectory } from "./tar.js";

export { ShellQuoteError, type ShellQuoteErrorCode } from "./errors.js";
export { cmdSetEnv, escapeCmd, quoteCmd, quoteCmdArgv, quoteCmdPath } from "./quote-cmd.js";
export { quotePosix, quotePosixArgv } from "./quote-posix.js";
export { quotePowerShell } from "./quote-powershell.js";

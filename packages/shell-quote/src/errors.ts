/** Stable codes of the errors this package throws. */
export type ShellQuoteErrorCode = "SHELL_QUOTE_UNSAFE";

/** Text that no quoting can carry safely through the shell it is meant for. */
export class ShellQuoteError extends Error {
  readonly code: ShellQuoteErrorCode = "SHELL_QUOTE_UNSAFE";
  readonly shell: "posix" | "cmd" | "powershell";
  constructor(shell: "posix" | "cmd" | "powershell", text: string, why: string) {
    super(
      `Cannot quote ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text)} for ${shell}: ${why}. ` +
        "Use a path or value without it.",
    );
    this.name = "ShellQuoteError";
    this.shell = shell;
  }
}

import { ShellQuoteError } from "./errors.js";

const SAFE_CMD = /^[A-Za-z0-9_@+=:,./\\-]+$/;
const CMD_META = /[()%!^"<>&|]/g;

function refuseLineBreaks(text: string): void {
  if (/[\0\r\n]/.test(text))
    throw new ShellQuoteError("cmd", text, "cmd.exe cannot carry NUL or line breaks in a command");
}

/**
 * Quotes one argument the way Windows programs split their command line (the MSVC runtime,
 * `CommandLineToArgvW`): inside quotes, backslashes are literal except before a `"`, where they
 * are doubled. Internal: what cmd.exe then does to the line is {@link quoteCmd}'s job.
 */
function quoteForArgv(arg: string): string {
  if (arg !== "" && SAFE_CMD.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === "\\") {
      backslashes++;
      continue;
    }
    out += "\\".repeat(ch === '"' ? backslashes * 2 + 1 : backslashes) + ch;
    backslashes = 0;
  }
  return `${out}${"\\".repeat(backslashes * 2)}"`;
}

/** Escapes every cmd.exe metacharacter with `^`; cmd removes the carets before the program runs. */
export function escapeCmd(text: string): string {
  refuseLineBreaks(text);
  return text.replace(CMD_META, "^$&");
}

/**
 * Quotes one argument of a program run from a cmd.exe line (`tar.exe`, `powershell.exe`...):
 * quoted for `CommandLineToArgvW` whenever it holds anything but safe characters, then every
 * cmd metacharacter, the quotes included, is escaped with `^`. cmd therefore never enters its
 * quoted state, every caret is consumed, and `%VAR%` cannot expand (`^%` breaks the name).
 * Not for cmd builtins (`if`, `mkdir`): use {@link quoteCmdPath}.
 */
export function quoteCmd(arg: string): string {
  refuseLineBreaks(arg);
  return escapeCmd(quoteForArgv(arg));
}

/** Joins an argv into one cmd.exe command line. */
export function quoteCmdArgv(argv: readonly string[]): string {
  return argv.map(quoteCmd).join(" ");
}

/**
 * Quotes a file name for cmd.exe builtins (`if exist`, `mkdir`, `rmdir`, `cd /d`) and programs
 * alike: always in double quotes, where cmd takes `& | < > ( ) ^` and spaces literally; trailing
 * backslashes are doubled so a program does not read `\"` as a quote. A name holding `"`, `%`
 * or `!` (which cmd expands even inside quotes), or a control character, is refused.
 */
export function quoteCmdPath(path: string): string {
  const bad = /["%!\x00-\x1f]/.exec(path);
  if (bad || path === "")
    throw new ShellQuoteError(
      "cmd",
      path,
      bad ? `a file name for cmd.exe may not hold ${JSON.stringify(bad[0])}` : "it is empty",
    );
  const trailing = /\\*$/.exec(path)?.[0].length ?? 0;
  return `"${path}${"\\".repeat(trailing)}"`;
}

/**
 * `set NAME=VALUE` for a cmd.exe line, joined to the next command with `&&` and no space (a space
 * before `&&` would end up in the value). Unlike `set "NAME=VALUE"`, whose quotes make cmd keep
 * carets literally, every metacharacter of the value is escaped with `^` and comes out exact.
 */
export function cmdSetEnv(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new ShellQuoteError("cmd", name, "it is not a variable name");
  return `set ${name}=${escapeCmd(value)}`;
}

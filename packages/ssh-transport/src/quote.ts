/** The guest's command dialect: POSIX sh, or Windows cmd.exe (OpenSSH for Windows' default shell). */
export type ShellDialect = "posix" | "cmd";

/** Quotes one word for a POSIX shell: safe words stay bare, others go in single quotes. */
export function quotePosix(word: string): string {
  if (word !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Joins an argv into one POSIX shell command line. */
export function quotePosixArgv(argv: readonly string[]): string {
  return argv.map(quotePosix).join(" ");
}

/**
 * Quotes one argument the way Windows programs (the MSVC runtime, CommandLineToArgvW) split
 * them: backslashes are literal except before a quote, where they must be doubled.
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
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

/** Escapes cmd.exe metacharacters with `^` so cmd passes the text through to the program. */
export function escapeCmd(text: string): string {
  return text.replace(/[()%!^"<>&|]/g, "^$&");
}

/** Quotes one argument for a command line that cmd.exe reads, then the program splits. */
export function quoteCmd(arg: string): string {
  return escapeCmd(quoteWindowsArg(arg));
}

/** Joins an argv into one cmd.exe command line. */
export function quoteCmdArgv(argv: readonly string[]): string {
  return argv.map(quoteCmd).join(" ");
}

export interface RunAs {
  uid: number;
  gid: number;
}

export interface CommandLineOptions {
  dialect: ShellDialect;
  /** Shell argv the command is given to, e.g. ["/bin/bash", "-c"]; `undefined` runs it as the login shell would. */
  shell?: readonly string[] | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  cwd?: string | undefined;
  /** POSIX only: switch from the SSH user with `sudo -n` (which must be allowed without a password). */
  user?: RunAs | undefined;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Names in `env` that no shell accepts. */
export function invalidEnvNames(env: Readonly<Record<string, string>> = {}): string[] {
  return Object.keys(env).filter((k) => !ENV_NAME.test(k));
}

/**
 * The one string sent in the SSH exec request. POSIX: `[sudo -n -u '#uid' -g '#gid' --] env K=V
 * SHELL... 'cd DIR && CMD'` (env after sudo, which resets the environment; cd inside, so it is
 * done as the target user). cmd: `cd /d DIR && set "K=V" && CMD` run by the SSH user.
 */
export function buildCommandLine(
  command: string | readonly string[],
  o: CommandLineOptions,
): string {
  const env = Object.entries(o.env ?? {});
  if (o.dialect === "cmd") {
    let line = typeof command === "string" ? command : quoteCmdArgv(command);
    if (o.shell) line = `${o.shell.map(quoteCmd).join(" ")} ${quoteCmd(line)}`;
    const sets = env.map(([k, v]) => `set "${k}=${escapeCmd(v)}"`);
    const cd = o.cwd ? [`cd /d ${quoteCmd(o.cwd)}`] : [];
    return [...cd, ...sets, line].join(" && ");
  }
  let script = typeof command === "string" ? command : `exec ${quotePosixArgv(command)}`;
  // Not `cd DIR && SCRIPT`: in `cd DIR && a; b`, b would still run in the wrong directory.
  if (o.cwd) script = `cd ${quotePosix(o.cwd)} || exit 1\n${script}`;
  const words: string[] = [];
  if (o.user) words.push("sudo", "-n", "-u", `'#${o.user.uid}'`, "-g", `'#${o.user.gid}'`, "--");
  if (env.length > 0) words.push("env", ...env.map(([k, v]) => quotePosix(`${k}=${v}`)));
  if (words.length === 0 && !o.shell) return script;
  words.push(...(o.shell ?? ["/bin/sh", "-c"]).map(quotePosix), quotePosix(script));
  return words.join(" ");
}

import {
  cmdSetEnv,
  quoteCmd,
  quoteCmdArgv,
  quoteCmdPath,
  quotePosix,
  quotePosixArgv,
} from "@strata/shell-quote";

/** The guest's command dialect: POSIX sh, or Windows cmd.exe (OpenSSH for Windows' default shell). */
export type ShellDialect = "posix" | "cmd";

export interface RunAs {
  uid: number;
  gid: number;
}

/**
 * The shell of commands written for a plain POSIX sh (strata's own guest-side scripts, whatever
 * `(shell ...)` a spec set), and of a command given a user or environment but no shell.
 */
export const POSIX_SH: readonly string[] = ["/bin/sh", "-c"];

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
 * done as the target user). cmd: `cd /d "DIR" && set K=V&& CMD` run by the SSH user. Every word
 * is quoted by @strata/shell-quote.
 */
export function buildCommandLine(
  command: string | readonly string[],
  o: CommandLineOptions,
): string {
  const env = Object.entries(o.env ?? {});
  if (o.dialect === "cmd") {
    let line = typeof command === "string" ? command : quoteCmdArgv(command);
    if (o.shell) line = `${o.shell.map(quoteCmd).join(" ")} ${quoteCmd(line)}`;
    // `set K=V&&` with no space: one before && would end up in the value.
    const sets = env.map(([k, v]) => `${cmdSetEnv(k, v)}&& `).join("");
    const cd = o.cwd ? `cd /d ${quoteCmdPath(o.cwd)} && ` : "";
    return `${cd}${sets}${line}`;
  }
  let script = typeof command === "string" ? command : `exec ${quotePosixArgv(command)}`;
  // Not `cd DIR && SCRIPT`: in `cd DIR && a; b`, b would still run in the wrong directory.
  if (o.cwd) script = `cd ${quotePosix(o.cwd)} || exit 1\n${script}`;
  const words: string[] = [];
  if (o.user) words.push("sudo", "-n", "-u", `'#${o.user.uid}'`, "-g", `'#${o.user.gid}'`, "--");
  if (env.length > 0) words.push("env", ...env.map(([k, v]) => quotePosix(`${k}=${v}`)));
  if (words.length === 0 && !o.shell) return script;
  words.push(...(o.shell ?? POSIX_SH).map(quotePosix), quotePosix(script));
  return words.join(" ");
}

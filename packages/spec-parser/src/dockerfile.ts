import type { CopyOp, Mount, Op, RunOp, Spec, User } from "./ast.js";
import { DockerfileError } from "./errors.js";

export type DockerfileOs = "unix" | "windows";

/** Options for {@link printDockerfile}. */
export interface DockerfileOptions {
  /**
   * Write caches and secrets as `RUN --mount=...` (BuildKit syntax); without it they are left out.
   * @default false
   */
  readonly buildkit?: boolean;
  /**
   * Target OS: Windows output starts with ``#escape=` `` and escapes with a backtick.
   * @default "unix"
   */
  readonly os?: DockerfileOs;
}

/** The default user of a Windows guest, treated as root. */
export const WINDOWS_ADMIN_USER = "ContainerAdministrator";

interface Context {
  readonly buildkit: boolean;
  readonly os: DockerfileOs;
  readonly escape: string;
}

function isRoot(user: User): boolean {
  return "name" in user ? user.name === WINDOWS_ADMIN_USER : user.uid === 0 && user.gid === 0;
}

// OCaml's String.trim: space, tab, LF, CR and form feed only.
function trimOcaml(line: string): string {
  return line.replace(/^[ \t\n\r\f]+|[ \t\n\r\f]+$/g, "");
}

function printMount(kind: "cache" | "secret", mount: Mount, user: User): string {
  if ("name" in user) {
    throw new DockerfileError(
      `cannot write --mount=type=${kind} for "${mount.id}": Docker needs a numeric uid, but the user is "${user.name}"; use (user (uid U) (gid G)) or drop --buildkit`,
    );
  }
  const options = [
    ["--mount=type", kind],
    ["id", mount.id],
    ["target", mount.target],
    ["uid", String(user.uid)],
    ...mount.buildkitOptions,
  ];
  return `${options.map(([key, value]) => `${key}=${value}`).join(",")} `;
}

function printRun(op: RunOp, user: User, ctx: Context): string {
  const mounts = ctx.buildkit
    ? [
        ...op.secrets.map((mount) => printMount("secret", mount, user)),
        ...op.cache.map((mount) => printMount("cache", mount, user)),
      ]
    : [];
  const command = op.shell.split("\n").map(trimOcaml).join(` ${ctx.escape}\n    `);
  return `RUN ${mounts.join("")}${command}`;
}

function printCopy(op: CopyOp, user: User): string {
  const chown = !("name" in user) && !isRoot(user) ? `--chown=${user.uid}:${user.gid} ` : "";
  const from = op.from === "context" ? "" : `--from=${op.from.build} `;
  return `COPY ${chown}${from}${op.src.join(" ")} ${op.dst}`;
}

function escapeValue(value: string, escapeChar: string): string {
  let out = "";
  for (const c of value) out += c === '"' || c === escapeChar ? `${escapeChar}${c}` : c;
  return out;
}

function printOp(op: Op, user: User, ctx: Context): string {
  switch (op.op) {
    case "comment":
      return `# ${op.text}`;
    case "workdir":
      return `WORKDIR ${op.dir}`;
    case "shell":
      return `SHELL [ ${op.args.map((arg) => `"${arg}"`).join(", ")} ]`;
    case "run":
      return printRun(op, user, ctx);
    case "copy":
      return printCopy(op, user);
    case "user":
      return "name" in op.user ? `USER ${op.user.name}` : `USER ${op.user.uid}:${op.user.gid}`;
    case "env":
      return `ENV ${op.name}="${escapeValue(op.value, ctx.escape)}"`;
  }
}

function printStage(spec: Spec, name: string | undefined, ctx: Context): string {
  let out = "";
  for (const build of spec.builds) out += `${printStage(build.spec, build.name, ctx)}\n`;
  out += `FROM ${spec.from}${name === undefined ? "" : ` as ${name}`}\n`;
  let user: User = ctx.os === "windows" ? { name: WINDOWS_ADMIN_USER } : { uid: 0, gid: 0 };
  for (const op of spec.ops) {
    out += `${printOp(op, user, ctx)}\n`;
    if (op.op === "user") user = op.user;
  }
  return out;
}

/**
 * Prints the Dockerfile equivalent of a spec, as OBuilder's `dockerfile` command does.
 * Throws {@link DockerfileError} for a BuildKit mount under a user given by name.
 */
export function printDockerfile(spec: Spec, options: DockerfileOptions = {}): string {
  const os = options.os ?? "unix";
  const ctx: Context = {
    buildkit: options.buildkit ?? false,
    os,
    escape: os === "windows" ? "`" : "\\",
  };
  return `${os === "windows" ? "#escape=`\n" : ""}${printStage(spec, undefined, ctx)}`;
}

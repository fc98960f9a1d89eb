import { defaultShell, type GuestOs } from "@strata/qemu-runner";
import type { Op, User } from "@strata/spec-parser";

export type { GuestOs };

/** What earlier operations set for later `run` and `copy` steps. */
export interface BuildContext {
  readonly os: GuestOs;
  readonly workdir: string;
  /** In order of first definition; `env` on an existing name replaces its value in place. */
  readonly env: readonly (readonly [string, string])[];
  readonly user: User;
  readonly shell: readonly string[];
}

const ROOT_USER: User = { uid: 0, gid: 0 };
const WINDOWS_ADMIN: User = { name: "ContainerAdministrator" };

export function initialContext(os: GuestOs, shell?: readonly string[]): BuildContext {
  return {
    os,
    workdir: os === "windows" ? "C:/" : "/",
    env: [],
    user: os === "windows" ? WINDOWS_ADMIN : ROOT_USER,
    // qemu-runner owns the default shell table (Linux /bin/bash -c, as OBuilder).
    shell: shell ?? defaultShell(os),
  };
}

function isAbsolute(os: GuestOs, path: string): boolean {
  return os === "windows" ? /^([A-Za-z]:)?[\\/]/.test(path) : path.startsWith("/");
}

/** Joins a path to the current directory the way the guest would (`..` and `.` resolved). */
export function joinGuestPath(os: GuestOs, base: string, path: string): string {
  const full = isAbsolute(os, path) ? path : `${base.replace(/[\\/]+$/, "")}/${path}`;
  const drive = os === "windows" ? (/^[A-Za-z]:/.exec(full)?.[0] ?? "") : "";
  const parts: string[] = [];
  for (const part of full.slice(drive.length).split(/[\\/]+/)) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `${drive}/${parts.join("/")}`;
}

/** Applies a context-changing operation; `run`, `copy` and `comment` return it unchanged. */
export function applyOp(ctx: BuildContext, op: Op): BuildContext {
  switch (op.op) {
    case "workdir":
      return { ...ctx, workdir: joinGuestPath(ctx.os, ctx.workdir, op.dir) };
    case "env": {
      const i = ctx.env.findIndex(([n]) => n === op.name);
      const env = [...ctx.env];
      if (i >= 0) env[i] = [op.name, op.value];
      else env.push([op.name, op.value]);
      return { ...ctx, env };
    }
    case "user":
      return { ...ctx, user: op.user };
    case "shell":
      return { ...ctx, shell: op.args };
    default:
      return ctx;
  }
}

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { quotePosix } from "@strata/shell-quote";
import type { RunOp, Spec } from "@strata/spec-parser";
import type { RunAs, SshSession } from "@strata/ssh-transport";
import { SecretMissingError } from "./errors.js";
import type { SecretDigest } from "./layer-id.js";
import { GUEST_ROOT, POSIX_SH } from "./posix.js";

/** Secret values by ID, read from `--secret ID:FILE`. Never logged, never in a layer. */
export type SecretValues = ReadonlyMap<string, Buffer>;

/** Parses `--secret ID:FILE` flags and reads the files. */
export async function loadSecrets(flags: readonly string[]): Promise<SecretValues> {
  const values = new Map<string, Buffer>();
  for (const flag of flags) {
    const i = flag.indexOf(":");
    if (i <= 0 || i === flag.length - 1)
      throw new SecretMissingError(flag, `--secret takes ID:FILE (got "${flag}")`);
    const id = flag.slice(0, i);
    const file = flag.slice(i + 1);
    try {
      values.set(id, await readFile(file));
    } catch (err) {
      throw new SecretMissingError(
        id,
        `secret "${id}": cannot read ${file}: ${(err as Error).message}`,
      );
    }
  }
  return values;
}

function* runOps(spec: Spec): Generator<RunOp> {
  for (const b of spec.builds) yield* runOps(b.spec);
  for (const op of spec.ops) if (op.op === "run") yield op;
}

/** Fails before any VM starts when a step needs a secret that was not given. */
export function checkSecrets(spec: Spec, values: SecretValues): void {
  for (const run of runOps(spec))
    for (const s of run.secrets)
      if (!values.has(s.id))
        throw new SecretMissingError(
          s.id,
          `the spec needs secret "${s.id}": pass it with --secret ${s.id}:FILE`,
        );
}

export function secretDigest(id: string, target: string, value: Buffer): SecretDigest {
  return { id, target, sha256: createHash("sha256").update(value).digest("hex") };
}

const STAGING = "/run/strata-secrets";

/**
 * Puts each secret at its target for the duration of a step, readable only by the step's user.
 * On POSIX guests the value lives in a tmpfs (/run) and is bind-mounted over an empty file at
 * the target, so it never touches the layer's disk; removal unmounts it and deletes the
 * placeholder. On Windows it is written and deleted (its blocks may remain on the disk).
 */
export async function installSecrets(
  ssh: SshSession,
  secrets: readonly { id: string; target: string; value: Buffer }[],
  user: RunAs,
  os: string,
): Promise<() => Promise<void>> {
  if (secrets.length === 0) return async () => {};
  if (os === "windows") {
    for (const s of secrets)
      await ssh.exec(
        `powershell -NoProfile -Command "$input | Set-Content -NoNewline -Path '${s.target}'"`,
        { stdin: s.value, check: true },
      );
    return async () => {
      for (const s of secrets)
        await ssh
          .exec(`del /f /q "${s.target.replaceAll("/", "\\")}"`, { raw: true })
          .catch(() => {});
    };
  }
  for (const [i, s] of secrets.entries()) {
    const staged = `${STAGING}/${i}`;
    const t = quotePosix(s.target);
    const script = [
      "set -e",
      `mkdir -p -m 0711 ${STAGING}`,
      `mountpoint -q ${STAGING} || mount -t tmpfs -o mode=0711,size=16m strata-secrets ${STAGING}`,
      `(umask 077; cat > ${staged})`,
      `chown ${user.uid}:${user.gid} ${staged}`,
      `chmod 0400 ${staged}`,
      `mkdir -p "$(dirname ${t})"`,
      `if [ ! -e ${t} ]; then : > ${t}; touch ${staged}.placeholder; fi`,
      `mount --bind ${staged} ${t}`,
    ].join("\n");
    await ssh.exec(script, { stdin: s.value, user: GUEST_ROOT, check: true, shell: POSIX_SH });
  }
  return async () => {
    const cmds = secrets.map((s, i) => {
      const t = quotePosix(s.target);
      return `umount ${t} || true; if [ -e ${STAGING}/${i}.placeholder ]; then rm -f ${t}; fi`;
    });
    cmds.push(`umount ${STAGING} || true; rmdir ${STAGING} || true`);
    await ssh.exec(cmds.join("\n"), { user: GUEST_ROOT, shell: POSIX_SH, check: true });
  };
}

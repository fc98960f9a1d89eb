import { boundTail } from "@strata/host-tool";
import type { RunAs } from "@strata/ssh-transport";
import { SecretInstallError, SecretRemoveError } from "./errors.js";
import type { Guest } from "./guest.js";
import { GUEST_ROOT, POSIX_SH } from "./posix.js";
import { posixInstallScript, posixRemoveScript } from "./secret-posix.js";
import { createRedactor, guardedValues } from "./secret-redact.js";
import {
  buildSecretDisk,
  encodedPowerShell,
  SECRET_DISK_SERIAL,
  windowsInstallScript,
  windowsRemoveScript,
} from "./secret-windows.js";

/** A secret a step names, with its value. */
export interface StepSecret {
  readonly id: string;
  readonly target: string;
  readonly value: Buffer;
}

/**
 * Takes every secret of a step out of the guest again. Resolves only when all of it is gone
 * (mounts, placeholder files, the tmpfs or the plugged disk) and throws a
 * {@link SecretRemoveError} otherwise; calling it again after success does nothing. Call it
 * before a layer is cut or a VM state is saved.
 */
export type RemoveSecrets = () => Promise<void>;

const STDERR_TAIL = 2_000;

/**
 * Puts each secret at its target for the duration of a step, outside the layer's disk: on
 * POSIX guests in a tmpfs bind-mounted over the target; on Windows on a throw-away FAT disk
 * built on the host and plugged in for the step, the target a symbolic link to it. Text the
 * guest sends back (its stderr, in errors) has the values masked.
 */
export async function installSecrets(
  guest: Guest,
  secrets: readonly StepSecret[],
  user: RunAs,
): Promise<RemoveSecrets> {
  if (secrets.length === 0) return async () => {};
  const ids = secrets.map((s) => s.id);
  const targets = secrets.map((s) => s.target);
  const mask = (text: string) => {
    const r = createRedactor(guardedValues(secrets.map((s) => s.value)));
    return boundTail(
      Buffer.concat([r.push(Buffer.from(text)), r.flush()]).toString(),
      STDERR_TAIL,
    ).trim();
  };
  const fail = (what: string, stderr: string) =>
    new SecretRemoveError(ids, `${what}${stderr ? `: ${mask(stderr)}` : ""}`);
  let removed = false;
  if (guest.os === "windows") {
    const disk = await buildSecretDisk(secrets.map((s) => s.value));
    try {
      await guest.attachDrives([
        { path: disk.path, format: "raw", readOnly: true, serial: SECRET_DISK_SERIAL },
      ]);
      const r = await guest.ssh.exec(encodedPowerShell(windowsInstallScript(targets)), {
        raw: true,
      });
      if (r.exitCode !== 0) throw new SecretInstallError(ids, mask(r.stderr));
    } catch (err) {
      await disk[Symbol.asyncDispose]();
      throw err;
    }
    guest.defer(async () => disk[Symbol.asyncDispose]());
    return async () => {
      if (removed) return;
      const r = await guest.ssh.exec(encodedPowerShell(windowsRemoveScript(targets)), {
        raw: true,
      });
      if (r.exitCode !== 0) throw fail("removing the links failed", r.stderr);
      await guest.detachDrive(SECRET_DISK_SERIAL);
      await disk[Symbol.asyncDispose]();
      removed = true;
    };
  }
  for (const [i, s] of secrets.entries()) {
    const r = await guest.ssh.exec(posixInstallScript(i, s.target, user), {
      stdin: s.value,
      user: GUEST_ROOT,
      shell: POSIX_SH,
    });
    if (r.exitCode !== 0) throw new SecretInstallError(ids, `secret "${s.id}": ${mask(r.stderr)}`);
  }
  return async () => {
    if (removed) return;
    const r = await guest.ssh.exec(posixRemoveScript(targets), {
      user: GUEST_ROOT,
      shell: POSIX_SH,
    });
    if (r.exitCode !== 0) throw fail("they are still mounted", r.stderr);
    removed = true;
  };
}

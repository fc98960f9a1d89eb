// Helpers for this package's unit tests (excluded from the build): a stand-in for an SshSession
// that runs the real POSIX command lines on this host with a real shell and real tar, minus
// `sudo -n` (the tests run as the host user) and minus mount/umount, which only a guest can do.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { SshSession } from "@strata/ssh-transport";
import { SshCommandError } from "@strata/ssh-transport";
import { execa } from "execa";

export function tempDir(prefix = "strata-cache-"): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

interface LocalExecOptions {
  stdin?: Readable;
  stdout?: Writable;
  check?: boolean;
}

/** Every command line sent, and a session-shaped object that runs them locally. */
export function localSession(): { session: SshSession; commands: string[] } {
  const commands: string[] = [];
  const exec = async (command: string, o: LocalExecOptions = {}) => {
    commands.push(command);
    if (/\bu?mount\b/.test(command) && command.startsWith("sudo -n /bin/sh -c")) {
      return { command, exitCode: 0, signal: undefined, stdout: "", stderr: "" };
    }
    const line = command.replace(/^sudo -n (-u '#\d+' -g '#\d+' -- )?/, "");
    const child = execa("/bin/sh", ["-c", line], {
      reject: false,
      stdin: o.stdin ? "pipe" : "ignore",
      stdout: o.stdout ? "pipe" : "pipe",
      encoding: "buffer",
    });
    let inputError: Error | undefined;
    if (o.stdin) {
      // As SshSession does: a failing input stream closes the channel and fails the command.
      o.stdin.on("error", (e) => {
        inputError = e;
        child.kill();
      });
      o.stdin.pipe(child.stdin!);
    }
    if (o.stdout) child.stdout!.on("data", (chunk: Buffer) => o.stdout!.write(chunk));
    const result = await child;
    if (inputError) throw new Error(`Reading stdin for ${command} failed: ${inputError.message}`);
    const stderr = Buffer.from(result.stderr ?? []).toString();
    if (o.check && result.exitCode !== 0) {
      throw new SshCommandError(command, result.exitCode, undefined, stderr);
    }
    const stdout = o.stdout ? "" : Buffer.from(result.stdout ?? []).toString();
    return { command, exitCode: result.exitCode, signal: undefined, stdout, stderr };
  };
  const session = { dialect: "posix", shell: undefined, connected: true, exec };
  return { session: session as unknown as SshSession, commands };
}

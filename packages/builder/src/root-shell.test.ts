import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { buildCommandLine, type ExecOptions, type SshSession } from "@strata/ssh-transport";
import { describe, expect, it } from "vitest";
import { RootShell } from "./root-shell.js";

/**
 * A session whose exec runs the command line on this host with /bin/sh, minus the `sudo -n`
 * prefix (the test runs as the host user), streaming as SshSession does.
 */
function localSession(): { session: SshSession; lines: string[] } {
  const lines: string[] = [];
  const exec = (command: string, o: ExecOptions) => {
    const line = buildCommandLine(command, { dialect: "posix", shell: o.shell, user: o.user });
    lines.push(line);
    const local = line.replace(/^sudo -n -u '#0' -g '#0' -- /, "");
    const child = spawn("/bin/sh", ["-c", local], { stdio: "pipe" });
    (o.stdin as Readable).pipe(child.stdin);
    child.stdout.on("data", (c: Buffer) => o.onStdout?.(c));
    child.stderr.on("data", (c: Buffer) => o.onStderr?.(c));
    o.signal?.addEventListener("abort", () => child.kill("SIGKILL"));
    return new Promise((resolve, reject) =>
      child.on("close", (code, signal) =>
        o.signal?.aborted
          ? reject(new Error("cancelled"))
          : resolve({ command, exitCode: code ?? undefined, signal, stdout: "", stderr: "" }),
      ),
    );
  };
  return { session: { exec } as unknown as SshSession, lines };
}

describe("RootShell", () => {
  it("opens one root shell through sudo and runs each script in it, output and status apart", async () => {
    const { session, lines } = localSession();
    const root = new RootShell(session);
    expect(await root.run("echo out; echo err >&2; exit 3")).toEqual({
      exitCode: 3,
      stdout: "out\n",
      stderr: "err\n",
    });
    // Output without a final newline, several lines, and nothing at all.
    expect(await root.run("printf 'a\\nb'")).toEqual({ exitCode: 0, stdout: "a\nb", stderr: "" });
    expect(await root.run("true")).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    // A script's variables and directory stay its own; it cannot read the shell's input.
    await root.run("X=1; cd /tmp");
    expect(await root.run('echo "[$X]"; pwd; cat; echo read')).toMatchObject({
      stdout: `[]\n${process.cwd()}\nread\n`,
    });
    // Text is UTF-8; a flood of output is cut at 1 MiB, and its end still found.
    expect(await root.run("printf 'd\\303\\251j\\303\\240'")).toMatchObject({ stdout: "déjà" });
    const flood = await root.run("head -c 3000000 /dev/zero | tr '\\0' a; echo end >&2");
    expect(flood).toEqual({ exitCode: 0, stdout: "a".repeat(1024 * 1024), stderr: "end\n" });
    // A syntax error is the script's failure, not the shell's.
    expect((await root.run("if then")).exitCode).not.toBe(0);
    expect(root.alive).toBe(true);
    expect(lines).toEqual([`sudo -n -u '#0' -g '#0' -- /bin/sh -c 'exec /bin/sh'`]);
    root.close();
  });

  it("runs scripts given at once one after another, each with its own result", async () => {
    const { session } = localSession();
    const root = new RootShell(session);
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => root.run(`sleep 0.0${5 - n}; echo ${n}`)),
    );
    expect(results.map((r) => r.stdout)).toEqual(["1\n", "2\n", "3\n", "4\n"]);
    root.close();
  });

  it("ends when a script is cancelled or the shell dies, and says so", async () => {
    const { session } = localSession();
    const root = new RootShell(session);
    // Cancelled before it starts, a script leaves the shell alone; once running, it ends it.
    await expect(root.run("echo no", AbortSignal.abort())).rejects.toMatchObject({
      code: "SSH_CANCELLED",
    });
    expect(await root.run("echo yes")).toMatchObject({ stdout: "yes\n" });
    const ac = new AbortController();
    const slow = root.run("sleep 30", ac.signal);
    const queued = root.run("echo never");
    await new Promise((r) => setTimeout(r, 300));
    ac.abort(new Error("timeout"));
    await expect(slow).rejects.toMatchObject({ code: "SSH_CANCELLED" });
    await expect(queued).rejects.toMatchObject({ code: "SSH_CANCELLED" });
    expect(root.alive).toBe(false);

    const other = new RootShell(localSession().session);
    await expect(other.run("kill -9 $PPID")).rejects.toMatchObject({
      code: "SSH_COMMAND_FAILED",
    });
    expect(other.alive).toBe(false);
  });
});

import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { type QmpEvent, startVm, type VmEvent } from "@strata/qemu-runner";
import {
  connectSsh,
  SshCancelledError,
  SshConnectionLostError,
  waitForSsh,
} from "@strata/ssh-transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { debianOverlay } from "./fixtures/vm-image.js";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Resolves once `stream` has produced text matching `pattern`. */
function waitForOutput(stream: PassThrough, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  let text = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${text}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        stream.off("data", onData);
        resolve(m[0]);
      }
    };
    stream.on("data", onData);
  });
}

// One boot of the Debian image checks the whole life of a VM and an SSH session.
describe("one Debian VM, booted under the runner, driven over SSH", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-vm-runner-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("boots, execs, transfers, opens a PTY and powers off by ACPI", async () => {
    const { overlay, manifest } = await debianOverlay(dir);
    const events: VmEvent[] = [];
    const started = performance.now();
    await using vm = await startVm({ image: overlay, manifest, onEvent: (e) => events.push(e) });
    expect(vm.argv).toContain("-kernel");
    const ssh = await waitForSsh({
      port: vm.sshPort,
      username: manifest.ssh.user,
      privateKey: { path: manifest.ssh.privateKey! },
      shell: manifest.shell,
      timeoutMs: 240_000,
      signal: vm.signal,
      diagnostics: () => vm.consoleTail(),
    });
    console.info(`boot to SSH: ${Math.round(performance.now() - started)} ms (${vm.accel})`);
    expect((await vm.consoleTail()).length).toBeGreaterThan(0);

    // exec: output streamed as it arrives, exit codes, signals, argv quoting.
    const chunks: string[] = [];
    const counted = await ssh.exec("for i in 1 2 3; do echo $i; sleep 0.3; done; echo oops >&2", {
      onStdout: (c) => chunks.push(c.toString()),
    });
    expect(counted).toMatchObject({ exitCode: 0, stdout: "1\n2\n3\n", stderr: "oops\n" });
    expect(chunks.length).toBeGreaterThan(1);
    expect((await ssh.exec("exit 3")).exitCode).toBe(3);
    await expect(ssh.exec("echo bad >&2; exit 4", { check: true })).rejects.toMatchObject({
      code: "SSH_COMMAND_FAILED",
      exitCode: 4,
      stderrTail: "bad\n",
    });
    expect(await ssh.exec("kill -TERM $$")).toMatchObject({
      exitCode: undefined,
      signal: "SIGTERM",
    });
    const quoted = await ssh.exec(["printf", "%s|", "a b", "it's", "$HOME", ""]);
    expect(quoted.stdout).toBe("a b|it's|$HOME||");

    // env, cwd, user (via sudo -n from the SSH user), stdin.
    const where = await ssh.exec('echo "$FOO"; pwd; id -un', {
      env: { FOO: "x 'y' z" },
      cwd: "/etc",
    });
    expect(where.stdout).toBe(`x 'y' z\n/etc\n${manifest.ssh.user}\n`);
    const root = await ssh.exec("id -u; id -g; pwd; echo $FOO", {
      user: { uid: 0, gid: 0 },
      cwd: "/root",
      env: { FOO: "1" },
    });
    expect(root.stdout).toBe("0\n0\n/root\n1\n");
    const nobody = await ssh.exec(["id", "-u"], { user: { uid: 65534, gid: 65534 } });
    expect(nobody.stdout).toBe("65534\n");
    expect((await ssh.exec("wc -c", { stdin: randomBytes(100_000) })).stdout.trim()).toBe("100000");

    // Cancellation: the channel closes, the call rejects at once.
    const controller = new AbortController();
    const sleeping = ssh.exec("sleep 100", { signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    await expect(sleeping).rejects.toBeInstanceOf(SshCancelledError);

    // SFTP both ways.
    const payload = randomBytes(8 * 1024 * 1024);
    await writeFile(join(dir, "payload.bin"), payload);
    await ssh.putFile(join(dir, "payload.bin"), "/tmp/payload.bin");
    expect((await ssh.exec("sha256sum /tmp/payload.bin")).stdout.split(" ")[0]).toBe(
      sha256(payload),
    );
    await ssh.getFile("/tmp/payload.bin", join(dir, "back.bin"));
    expect(sha256(await readFile(join(dir, "back.bin")))).toBe(sha256(payload));

    // tar both ways: a host directory in, the guest directory out into another host directory.
    const tree = join(dir, "tree");
    await mkdir(join(tree, "sub dir"), { recursive: true });
    await writeFile(join(tree, "a.txt"), "alpha\n");
    await writeFile(join(tree, "sub dir", "b.bin"), payload.subarray(0, 100_000));
    await symlink("a.txt", join(tree, "link"));
    await ssh.putTar(tree, "/tmp/tree");
    const listing = await ssh.exec(
      "cd /tmp/tree && cat a.txt && readlink link && sha256sum 'sub dir/b.bin'",
    );
    expect(listing.stdout).toBe(
      `alpha\na.txt\n${sha256(payload.subarray(0, 100_000))}  sub dir/b.bin\n`,
    );
    await ssh.exec("echo made-in-guest > /tmp/tree/c.txt");
    await ssh.getTar("/tmp/tree", join(dir, "out"));
    expect(await readFile(join(dir, "out", "c.txt"), "utf8")).toBe("made-in-guest\n");
    expect(await readlink(join(dir, "out", "link"))).toBe("a.txt");
    expect(sha256(await readFile(join(dir, "out", "sub dir", "b.bin")))).toBe(
      sha256(payload.subarray(0, 100_000)),
    );

    // PTY: size, resize, exit status.
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const shell = await ssh.openShell({ stdin, stdout, rows: 30, cols: 100 });
    stdin.write("stty size; tty\n");
    expect(await waitForOutput(stdout, /30 100\r?\n\/dev\/pts\/\d+/)).toBeTruthy();
    shell.resize(40, 120);
    stdin.write("stty size\n");
    expect(await waitForOutput(stdout, /40 120/)).toBeTruthy();
    stdin.write("exit 7\n");
    expect(await shell.exited).toMatchObject({ exitCode: 7 });

    // A dropped connection is an error, never a silent success: kill this session's sshd.
    const doomed = await connectSsh({
      port: vm.sshPort,
      username: manifest.ssh.user,
      privateKey: { path: manifest.ssh.privateKey! },
    });
    await expect(doomed.exec("sudo -n kill -9 $PPID; sleep 10")).rejects.toBeInstanceOf(
      SshConnectionLostError,
    );
    await expect(doomed.exec("true")).rejects.toMatchObject({ code: "SSH_CONNECTION_LOST" });
    expect(await ssh.exec("echo still here")).toMatchObject({ stdout: "still here\n" });

    // ACPI power-down: POWERDOWN, then the guest's own SHUTDOWN, then QEMU exits 0.
    const seen: QmpEvent[] = [];
    const collecting = (async () => {
      for await (const e of vm.qmp.events()) seen.push(e);
    })();
    const result = await vm.shutdown({ timeoutMs: 120_000 });
    await collecting;
    expect(result).toMatchObject({ graceful: true, exitCode: 0 });
    expect(seen.map((e) => e.event)).toEqual(expect.arrayContaining(["POWERDOWN", "SHUTDOWN"]));
    expect(seen.find((e) => e.event === "SHUTDOWN")?.data).toMatchObject({
      guest: true,
      reason: "guest-shutdown",
    });
    expect(vm.running).toBe(false);
    expect(vm.signal.aborted).toBe(true);
    expect(() => process.kill(vm.pid, 0)).toThrow();
    await ssh.close();
    expect(ssh.connected).toBe(false);
    expect(events.find((e) => e.type === "started")).toBeTruthy();
  });
});

import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HostToolError, HostToolMissingError } from "./errors.js";
import { runHostTool, spawnHostTool } from "./run-host-tool.js";
import { boundTail, MAX_TAIL_BYTES } from "./tail.js";

const sh = (script: string, options?: Parameters<typeof runHostTool>[2]) =>
  runHostTool("sh", ["-c", script, "sh"], options);

describe("runHostTool", () => {
  it("returns stdout, and takes stdin, cwd and env", async () => {
    expect(await sh("printf 'a b\\n'")).toBe("a b\n");
    expect(await runHostTool("cat", [], { stdin: "from stdin" })).toBe("from stdin");
    expect(await sh("pwd", { cwd: "/tmp" })).toBe("/tmp\n");
    expect(await sh('printf %s "$STRATA_T"', { env: { STRATA_T: "set" } })).toBe("set");
  });

  it("gives every output line, \\r-ended ones too, to onLine", async () => {
    const lines: string[] = [];
    // "last" (stdout) has no newline when "err" (stderr) comes: two streams, two line cutters.
    await sh("printf '10%%\\r20%%\\rdone\\n'; printf last; sleep 0.2; echo err >&2", {
      onLine: (l) => lines.push(l),
    });
    expect(lines.sort()).toEqual(["10%", "20%", "done", "err", "last"].sort());
  });

  it("fails with the exit code and the last lines of output", async () => {
    const err = await sh("for i in $(seq 1 100); do echo line-$i >&2; done; exit 3").catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostToolError);
    const e = err as HostToolError;
    expect(e.code).toBe("HOST_TOOL_FAILED");
    expect(e.exitCode).toBe(3);
    expect(e.timedOut).toBe(false);
    expect(e.tail.split("\n")).toEqual(Array.from({ length: 30 }, (_, i) => `line-${i + 71}`));
    expect(e.message).toMatch(/^`sh -c .* failed with exit code 3:\nline-71\n/);
  });

  it("bounds the tail in bytes: 30 long lines keep only the last MAX_TAIL_BYTES", async () => {
    const e = (await sh(
      "for i in $(seq 1 30); do head -c 1000 /dev/zero | tr '\\0' x; echo; done >&2; exit 1",
    ).catch((x: unknown) => x)) as HostToolError;
    expect(e).toBeInstanceOf(HostToolError);
    expect(e.tail.length).toBeLessThanOrEqual(MAX_TAIL_BYTES);
    expect(e.tail).toMatch(/^x{1000}(\nx{1000})*$/);
    expect(e.message.length).toBeLessThan(MAX_TAIL_BYTES + 200);
  });

  it("names the package to install for a tool that is not there", async () => {
    const err = await runHostTool("strata-no-such-tool", []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostToolMissingError);
    expect((err as HostToolMissingError).code).toBe("HOST_TOOL_MISSING");
    const known = (await runHostTool("qemu-img", [], { env: { PATH: "/nonexistent" } }).catch(
      (e: unknown) => e,
    )) as HostToolMissingError;
    expect(known.message).toBe(
      "qemu-img is not installed; install it with: apt-get install -y qemu-utils",
    );
  });

  it("stops the tool on abort and rejects with the signal's reason", async () => {
    const ac = new AbortController();
    const reason = new Error("stop now");
    const started = Date.now();
    const run = sh("echo started; exec sleep 60", {
      signal: ac.signal,
      onLine: () => ac.abort(reason),
    });
    await expect(run).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("kills a tool that runs over its timeout, and says so", async () => {
    const started = Date.now();
    const err = (await sh("echo before; exec sleep 60", { timeoutMs: 300 }).catch(
      (e: unknown) => e,
    )) as HostToolError;
    expect(err).toBeInstanceOf(HostToolError);
    expect(err.timedOut).toBe(true);
    expect(err.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("reports a tool killed by a signal", async () => {
    const err = (await sh("kill -9 $$").catch((e: unknown) => e)) as HostToolError;
    expect(err.signal).toBe("SIGKILL");
    expect(err.message).toMatch(/was killed by SIGKILL/);
  });
});

describe("spawnHostTool", () => {
  it("reads a socket's own descriptor when given one as stdin", async () => {
    const dir = await mkdtemp(join(tmpdir(), "strata-host-tool-"));
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve) => server.listen(join(dir, "s"), resolve));
    /** Both ends of a new unix connection: the accepted one (paused: nothing reads it), the client. */
    const connect = async () => {
      const accepted = once(server, "connection");
      const client = createConnection(join(dir, "s"));
      const [far] = (await accepted) as Socket[];
      return { far: far!, client };
    };
    try {
      // The tool reads the socket itself: this process never takes a byte of it.
      const a = await connect();
      const cat = await spawnHostTool("cat", [], { stdin: a.far });
      a.far.destroy();
      const out: Buffer[] = [];
      cat.stdout.on("data", (c: Buffer) => out.push(c));
      a.client.end("through the socket");
      await cat.done;
      expect(Buffer.concat(out).toString()).toBe("through the socket");
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("streams stdout and pipes stdin", async () => {
    const tool = await spawnHostTool("tr", ["a-z", "A-Z"], { stdin: "pipe" });
    tool.stdin?.end("streamed\n");
    const chunks: Buffer[] = [];
    for await (const c of tool.stdout) chunks.push(c as Buffer);
    await tool.done;
    expect(Buffer.concat(chunks).toString()).toBe("STREAMED\n");
  });

  it("fails with stderr's tail, the streamed stdout aside", async () => {
    const tool = await spawnHostTool("sh", ["-c", "echo out; echo bad >&2; exit 2"]);
    tool.stdout.resume();
    const err = (await tool.done.catch((e: unknown) => e)) as HostToolError;
    expect(err.exitCode).toBe(2);
    expect(err.tail).toBe("bad");
  });
});

describe("boundTail", () => {
  it("keeps short text and cuts long text at a line start", () => {
    expect(boundTail("short")).toBe("short");
    const long = `${"a".repeat(100)}\n${"b".repeat(MAX_TAIL_BYTES)}`;
    expect(boundTail(long, MAX_TAIL_BYTES + 50)).toBe("b".repeat(MAX_TAIL_BYTES));
  });
});

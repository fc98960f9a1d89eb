import { describe, expect, it } from "vitest";
import { HostToolError } from "./errors.js";
import { runHostTool, spawnHostTool } from "./run-host-tool.js";
import { createLineSplitter, createTailBuffer } from "./tail.js";

const sh = (script: string) => ["-c", script];

async function failureOf(p: Promise<unknown>): Promise<HostToolError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HostToolError);
  return error as HostToolError;
}

describe("runHostTool", () => {
  it("returns stdout and exit code of a tool that succeeds", async () => {
    const r = await runHostTool("/bin/sh", sh("printf 'a b\\n'; echo warn >&2"));
    expect(r).toEqual({ stdout: "a b", exitCode: 0, stderrTail: "warn\n" });
  });

  it("returns stdout as bytes in buffer mode", async () => {
    const r = await runHostTool("/bin/sh", sh("printf '\\001\\377'"), { stdout: "buffer" });
    expect([...r.stdout]).toEqual([1, 255]);
  });

  it("puts exit code, command and stderr in a HOST_TOOL_FAILED error", async () => {
    const e = await failureOf(runHostTool("/bin/sh", sh("echo 'disk full' >&2; exit 7")));
    expect(e.code).toBe("HOST_TOOL_FAILED");
    expect(e.exitCode).toBe(7);
    expect(e.command).toBe("/bin/sh -c echo 'disk full' >&2; exit 7");
    expect(e.stderrTail).toBe("disk full\n");
    expect(e.message).toContain("exit code 7");
    expect(e.message).toContain("disk full");
  });

  it("accepts the exit codes it is told are fine", async () => {
    const r = await runHostTool("/bin/sh", sh("exit 3"), { okExitCodes: [0, 3] });
    expect(r.exitCode).toBe(3);
  });

  it("keeps only the last bytes of a long stderr, from a whole line", async () => {
    // 20,000 numbered lines (~150 KB) through a 1 KiB tail.
    const script = "i=0; while [ $i -lt 20000 ]; do echo line-$i >&2; i=$((i+1)); done; exit 1";
    const e = await failureOf(runHostTool("/bin/sh", sh(script), { stderrTailBytes: 1024 }));
    expect(e.stderrTail.startsWith("[...]\nline-")).toBe(true);
    expect(Buffer.byteLength(e.stderrTail)).toBeLessThanOrEqual(1024 + 6);
    expect(e.stderrTail.endsWith("line-19999\n")).toBe(true);
    expect(e.message.length).toBeLessThan(1300);
  });

  it("says HOST_TOOL_MISSING, with the package to install, when the program does not exist", async () => {
    const e = await failureOf(runHostTool("strata-no-such-tool", ["x"]));
    expect(e.code).toBe("HOST_TOOL_MISSING");
    expect(e.message).toContain("strata-no-such-tool is not installed");
    const q = await failureOf(runHostTool("/nonexistent/qemu-img", []));
    expect(q.message).toContain("apt-get install -y qemu-utils");
  });

  it("kills a tool that runs past its timeout and says HOST_TOOL_TIMEOUT", async () => {
    const started = Date.now();
    const e = await failureOf(
      runHostTool("/bin/sh", sh("echo begun >&2; exec sleep 60"), { timeoutMs: 500 }),
    );
    expect(e.code).toBe("HOST_TOOL_TIMEOUT");
    expect(e.message).toContain("500 ms");
    expect(e.stderrTail).toBe("begun\n");
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("kills the tool on abort and rejects with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("user pressed Ctrl-C");
    const started = Date.now();
    const run = runHostTool("sleep", ["60"], { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 300);
    await expect(run).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("rejects at once with the reason when the signal is already aborted", async () => {
    const reason = new Error("gone");
    await expect(runHostTool("sleep", ["60"], { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
  });

  it("hands progress lines to onLine, a \\r redraw counting as a line", async () => {
    const lines: string[] = [];
    await runHostTool(
      "/bin/sh",
      sh("printf '  (10.00/100%%)\\r  (50.00/100%%)\\r' >&2; echo done"),
      {
        stdout: "lines",
        onLine: (l) => lines.push(l),
      },
    );
    // stdout and stderr are two pipes: their lines may interleave either way.
    expect(lines.filter((l) => l !== "done")).toEqual(["  (10.00/100%)", "  (50.00/100%)"]);
    expect(lines).toContain("done");
  });

  it("passes cwd and adds env to the tool's environment", async () => {
    const r = await runHostTool("/bin/sh", sh('printf "%s %s %s" "$PWD" "$STRATA_T" "$HOME"'), {
      cwd: "/tmp",
      env: { STRATA_T: "v" },
    });
    expect(r.stdout).toBe(`/tmp v ${process.env.HOME}`);
  });
});

describe("spawnHostTool", () => {
  it("streams stdin to the tool and its stdout back", async () => {
    const p = await spawnHostTool("tr", ["a-z", "A-Z"], { stdin: "pipe", stdout: "stream" });
    const chunks: Buffer[] = [];
    p.stdout?.on("data", (c: Buffer) => chunks.push(Buffer.from(c)));
    p.stdin?.end("hello");
    await p.done;
    expect(Buffer.concat(chunks).toString()).toBe("HELLO");
  });

  it("resolves with stopped: true when the caller stops the tool", async () => {
    const p = await spawnHostTool("sleep", ["60"]);
    p.stop();
    const r = await p.done;
    expect(r.stopped).toBe(true);
  });
});

describe("tail and line helpers", () => {
  it("keeps everything up to the bound", () => {
    const t = createTailBuffer(10);
    t.push("0123456789");
    expect(t.text()).toBe("0123456789");
    t.push("ab\ncd");
    expect(t.text()).toBe("[...]\ncd");
  });

  it("never cuts a character in half", () => {
    const t = createTailBuffer(5);
    t.push("ééééé"); // 10 bytes
    expect(t.text()).toBe("[...]\néé");
  });

  it("joins lines split across chunks", () => {
    const lines: string[] = [];
    const s = createLineSplitter((l) => lines.push(l));
    s.push("ab");
    s.push("c\r\nd");
    s.push("e\n");
    s.push("tail");
    s.end();
    expect(lines).toEqual(["abc", "de", "tail"]);
  });
});

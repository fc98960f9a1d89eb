import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildCommandLine,
  invalidEnvNames,
  quoteCmd,
  quotePosix,
  quotePosixArgv,
  quoteWindowsArg,
} from "./quote.js";

/** Runs a line in a real sh and returns the argv it produced. */
const shArgv = (line: string): string[] => {
  const out = execFileSync("sh", ["-c", `f() { for a; do printf '%s\\0' "$a"; done; }; f ${line}`]);
  return out.toString("latin1").split("\0").slice(0, -1);
};

describe("POSIX quoting", () => {
  it("keeps safe words bare and quotes the rest", () => {
    expect(quotePosix("abc/d.e-f")).toBe("abc/d.e-f");
    expect(quotePosix("")).toBe("''");
    expect(quotePosix("a b")).toBe("'a b'");
    expect(quotePosix("it's")).toBe(`'it'\\''s'`);
    expect(quotePosixArgv(["echo", "$HOME", "*"])).toBe("echo '$HOME' '*'");
  });

  it("round-trips arbitrary words through a real sh", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: "binary-ascii" }).map((s) => s.replaceAll("\0", "")),
          { maxLength: 4 },
        ),
        (words) => {
          expect(shArgv(quotePosixArgv(words))).toEqual(words);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("Windows quoting", () => {
  it("follows CommandLineToArgvW rules", () => {
    expect(quoteWindowsArg("plain")).toBe("plain");
    expect(quoteWindowsArg("")).toBe('""');
    expect(quoteWindowsArg("a b")).toBe('"a b"');
    expect(quoteWindowsArg('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteWindowsArg("C:\\Program Files\\")).toBe('"C:\\Program Files\\\\"');
    expect(quoteWindowsArg('a\\"b')).toBe('"a\\\\\\"b"');
    expect(quoteWindowsArg("C:\\dir\\x")).toBe("C:\\dir\\x");
  });

  it("escapes cmd metacharacters after quoting", () => {
    expect(quoteCmd("a&b")).toBe("a^&b");
    expect(quoteCmd("50% (x)")).toBe('^"50^% ^(x^)^"');
  });
});

describe("buildCommandLine", () => {
  it("POSIX: env after sudo, cd inside the shell, the manifest's shell", () => {
    const line = buildCommandLine("make -j2", {
      dialect: "posix",
      shell: ["/bin/bash", "-c"],
      env: { A: "1 2" },
      cwd: "/home/opam/src dir",
      user: { uid: 1000, gid: 1000 },
    });
    expect(line).toBe(
      "sudo -n -u '#1000' -g '#1000' -- env 'A=1 2' /bin/bash -c 'cd '\\''/home/opam/src dir'\\'' || exit 1\nmake -j2'",
    );
  });

  it("POSIX: a string alone is sent unchanged, an argv is exec'd", () => {
    expect(buildCommandLine("echo hi", { dialect: "posix" })).toBe("echo hi");
    expect(buildCommandLine(["printf", "%s", "a b"], { dialect: "posix" })).toBe(
      "exec printf %s 'a b'",
    );
    const line = buildCommandLine(["sh", "-c", 'echo "$A"; pwd'], {
      dialect: "posix",
      cwd: "/tmp",
      env: { A: "x 'y'" },
    });
    expect(execFileSync("sh", ["-c", line], { encoding: "utf8" })).toBe("x 'y'\n/tmp\n");
  });

  it("cmd: cd /d, set and the command", () => {
    const line = buildCommandLine(["dir", "C:\\Program Files"], {
      dialect: "cmd",
      env: { OPAMYES: "1" },
      cwd: "C:\\Users\\opam",
    });
    expect(line).toBe('cd /d C:\\Users\\opam && set "OPAMYES=1" && dir ^"C:\\Program Files^"');
  });

  it("flags invalid environment names", () => {
    expect(invalidEnvNames({ OK_1: "", "BAD-NAME": "", "1X": "" })).toEqual(["BAD-NAME", "1X"]);
  });
});

describe("cwd in a real shell", () => {
  it("runs none of a multi-command script when the directory is missing", async () => {
    const { execFileSync } = await import("node:child_process");
    const line = buildCommandLine("echo a; echo b", {
      dialect: "posix",
      cwd: "/nonexistent-strata-dir",
    });
    let out = "";
    let status = 0;
    try {
      out = execFileSync("/bin/sh", ["-c", line], {
        stdio: ["ignore", "pipe", "ignore"],
      }).toString();
    } catch (e) {
      status = (e as { status: number }).status;
      out = String((e as { stdout: Buffer }).stdout);
    }
    expect(status).toBe(1);
    expect(out).toBe("");
    expect(
      execFileSync("/bin/sh", [
        "-c",
        buildCommandLine("pwd; echo b", { dialect: "posix", cwd: "/tmp" }),
      ]).toString(),
    ).toBe("/tmp\nb\n");
  });
});

import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildCommandLine, invalidEnvNames } from "./quote.js";

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
    expect(line).toBe('cd /d "C:\\Users\\opam" && set OPAMYES=1&& dir ^"C:\\Program Files^"');
    // Values come out exact: no literal carets (as `set "K=V"` left), no trailing space.
    expect(buildCommandLine("x", { dialect: "cmd", env: { K: "a&b^c" } })).toBe(
      "set K=a^&b^^c&& x",
    );
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

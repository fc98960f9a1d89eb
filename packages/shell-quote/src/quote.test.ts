import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ShellQuoteError } from "./errors.js";
import { cmdSetEnv, quoteCmd, quoteCmdArgv, quoteCmdPath } from "./quote-cmd.js";
import { quotePosix, quotePosixArgv } from "./quote-posix.js";
import { quotePowerShell } from "./quote-powershell.js";

/** Strings an attacker would try: substitutions, quotes of every kind, metacharacters, breaks. */
const HOSTILE = [
  "$(touch /tmp/strata-pwned)",
  "`id`",
  "'; rm -rf / #",
  '"; echo pwned; "',
  "a\nb",
  "\\",
  '\\\\"',
  "%PATH%",
  "!PATH!",
  "^&|<>()",
  "C:\\Program Files\\",
  "it’s",
  "‘‚‛'",
  "-rf",
  "",
  " ",
  "\t",
  "é😀",
];
const hostile = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string({ unit: "binary" }),
  fc.string({ unit: fc.constantFrom(..."$`'\"\\%!^&|<>() \n‘’‚‛ab") }),
);
const noNul = (s: string) => s.replaceAll("\0", "");

/** Runs a line in the host's real sh and returns the argv it produced. */
function shArgv(line: string): string[] {
  const out = execFileSync("sh", ["-c", `f() { for a; do printf '%s\\0' "$a"; done; }; f ${line}`]);
  return out.toString("utf8").split("\0").slice(0, -1);
}

describe("quotePosix", () => {
  it("keeps safe words bare, quotes the rest, refuses NUL", () => {
    expect(quotePosix("abc/d.e-f")).toBe("abc/d.e-f");
    expect(quotePosix("")).toBe("''");
    expect(quotePosix("it's")).toBe(`'it'\\''s'`);
    expect(quotePosixArgv(["echo", "$HOME"])).toBe("echo '$HOME'");
    expect(() => quotePosix("a\0b")).toThrow(ShellQuoteError);
  });

  it("round-trips hostile words through a real sh (printf %s)", () => {
    fc.assert(
      fc.property(fc.array(hostile.map(noNul), { maxLength: 4 }), (words) => {
        expect(shArgv(quotePosixArgv(words))).toEqual(words);
      }),
      { numRuns: 30 },
    );
  });

  it("never runs a substitution: sh -c 'printf %s \"$1\"' gets the word back", () => {
    for (const word of HOSTILE) {
      const out = execFileSync("sh", ["-c", `printf %s ${quotePosix(word)}`]).toString("utf8");
      expect(out).toBe(word);
    }
    expect(existsSync("/tmp/strata-pwned")).toBe(false);
  });
});

/** cmd.exe's caret phase for a line that never enters its quoted state, and the check that it does not. */
function cmdPhase2(line: string): string {
  let out = "";
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "^") {
      out += line[++i] ?? "";
      continue;
    }
    // Unescaped, these would be operators, a quote state, or an expansion.
    if (/[()%!"<>&|]/.test(ch)) throw new Error(`unescaped ${ch} in ${line}`);
    out += ch;
  }
  return out;
}

/** CommandLineToArgvW (and the MSVC runtime since 2008). */
function windowsArgv(line: string): string[] {
  const args: string[] = [];
  let cur: string | undefined;
  let quoted = false;
  for (let i = 0; i < line.length; ) {
    const ch = line[i]!;
    if (!quoted && (ch === " " || ch === "\t")) {
      if (cur !== undefined) args.push(cur);
      cur = undefined;
      i++;
      continue;
    }
    cur ??= "";
    if (ch === "\\") {
      let n = 0;
      while (line[i] === "\\") {
        n++;
        i++;
      }
      cur += "\\".repeat(line[i] === '"' ? Math.floor(n / 2) : n);
      if (line[i] === '"' && n % 2 === 1) {
        cur += '"';
        i++;
      }
    } else if (ch === '"' && quoted && line[i + 1] === '"') {
      cur += '"';
      i += 2;
    } else if (ch === '"') {
      quoted = !quoted;
      i++;
    } else {
      cur += ch;
      i++;
    }
  }
  if (cur !== undefined) args.push(cur);
  return args;
}

describe("cmd.exe quoting (against a model of cmd and CommandLineToArgvW)", () => {
  const cmdSafe = hostile.map((s) => s.replace(/[\0\r\n]/g, ""));

  it("quoteCmd: every argument comes back exact, and no metacharacter is left bare", () => {
    fc.assert(
      fc.property(fc.array(cmdSafe, { maxLength: 4 }), (args) => {
        expect(windowsArgv(cmdPhase2(`prog ${quoteCmdArgv(args)}`))).toEqual(["prog", ...args]);
      }),
      { numRuns: 500 },
    );
    expect(quoteCmd("a&b")).toBe('^"a^&b^"');
    expect(quoteCmd("C:\\dir\\x")).toBe("C:\\dir\\x");
    expect(() => quoteCmd("a\nb")).toThrow(ShellQuoteError);
  });

  it("quoteCmdPath: always quoted, trailing backslashes kept, cmd's unquotables refused", () => {
    expect(quoteCmdPath("C:\\a&b")).toBe('"C:\\a&b"');
    expect(quoteCmdPath("C:\\")).toBe('"C:\\\\"');
    fc.assert(
      fc.property(cmdSafe, (s) => {
        const path = `C:\\${s}`;
        if (/["%!\x00-\x1f]/.test(path)) {
          expect(() => quoteCmdPath(path)).toThrow(ShellQuoteError);
          return;
        }
        const q = quoteCmdPath(path);
        // Inside its quotes cmd takes everything literally: only the program's split applies.
        expect(q.slice(1, -1)).not.toContain('"');
        expect(windowsArgv(`prog ${q}`)).toEqual(["prog", path]);
      }),
      { numRuns: 500 },
    );
  });

  it("cmdSetEnv: the value comes out exact, without literal carets", () => {
    fc.assert(
      fc.property(cmdSafe, (value) => {
        const line = cmdSetEnv("K", value);
        expect(line.startsWith("set K=")).toBe(true);
        expect(cmdPhase2(line.slice("set K=".length))).toBe(value);
      }),
      { numRuns: 500 },
    );
    expect(cmdSetEnv("K", "a^b")).toBe("set K=a^^b");
    expect(() => cmdSetEnv("K=1", "x")).toThrow(ShellQuoteError);
  });
});

/** A PowerShell verbatim string read back: a doubled quote character is one quote character. */
function readPowerShellVerbatim(text: string): string {
  const quote = /['\u2018\u2019\u201a\u201b]/;
  if (!quote.test(text[0] ?? "")) throw new Error("not a verbatim string");
  let out = "";
  for (let i = 1; i < text.length; i++) {
    const ch = text[i]!;
    if (quote.test(ch)) {
      if (quote.test(text[i + 1] ?? "")) {
        out += ch;
        i++;
        continue;
      }
      if (i !== text.length - 1) throw new Error(`string ends early at ${i}: ${text}`);
      return out;
    }
    out += ch;
  }
  throw new Error("unterminated");
}

describe("quotePowerShell (against a model of PowerShell's verbatim strings)", () => {
  it("round-trips hostile strings, typographic quotes included", () => {
    fc.assert(
      fc.property(hostile.map(noNul), (s) => {
        expect(readPowerShellVerbatim(quotePowerShell(s))).toBe(s);
      }),
      { numRuns: 500 },
    );
    expect(quotePowerShell("it’s $x")).toBe("'it’’s $x'");
  });
});

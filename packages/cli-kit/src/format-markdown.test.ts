import { describe, expect, it } from "vitest";
import { defineCommand } from "./command.js";
import { EXIT_CODES } from "./exit-code-table.js";
import { formatCommandsMarkdown, formatExitCodesMarkdown } from "./format-markdown.js";

const hello = defineCommand({
  name: "hello",
  aliases: ["hi"],
  summary: "say hello",
  synopsis: ["[--loud] NAME", "--mode a|b"],
  description: "Says hello to NAME.",
  maxArguments: 1,
  options: {
    loud: { type: "boolean", short: "l", help: "shout\nvery loudly" },
    mode: { type: "string", value: "a|b", help: "how: `a` or <b>", multiple: true },
  },
  run: async () => 0,
});

describe("formatCommandsMarkdown", () => {
  it("writes a heading, usage, description and an options table per command", () => {
    expect(formatCommandsMarkdown("demo", [hello])).toBe(
      [
        "### `demo hello`",
        "",
        "say hello",
        "",
        "Also: `demo hi`.",
        "",
        "```text",
        "demo hello [--loud] NAME",
        "demo hello --mode a|b",
        "```",
        "",
        "Says hello to NAME.",
        "",
        "| option | meaning |",
        "| --- | --- |",
        "| `-l, --loud` | shout very loudly |",
        "| `--mode a\\|b` (repeatable) | how: \\`a\\` or &lt;b&gt; |",
        "",
      ].join("\n"),
    );
  });
});

describe("formatCommandsMarkdown with help laid out in columns", () => {
  it("keeps an indented description as written, in a text block", () => {
    const columns = defineCommand({
      ...hello,
      options: {},
      description: "ls  lists\n    more of ls\nrm  removes",
    });
    expect(formatCommandsMarkdown("demo", [columns])).toContain(
      "```text\nls  lists\n    more of ls\nrm  removes\n```",
    );
  });
});

describe("formatExitCodesMarkdown", () => {
  it("lists each status with its meaning and every code that maps to it", () => {
    const text = formatExitCodesMarkdown();
    const rows = text.split("\n").filter((line) => /^\| \d/.test(line));
    expect(rows.map((row) => Number(row.split("|")[1]))).toEqual([0, 1, 2, 3, 4, 129, 130, 143]);
    for (const [code, status] of Object.entries(EXIT_CODES)) {
      expect(rows.find((row) => row.startsWith(`| ${status} |`))).toContain(`\`${code}\``);
    }
    expect(rows.find((row) => row.startsWith("| 143 |"))).toContain("SIGTERM");
  });
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { commands as strataCommands } from "@strata/cli";
import { EXIT_CODES, formatCommandsMarkdown, formatExitCodesMarkdown } from "@strata/cli-kit";
import { commands as imageCommands } from "@strata/image-builder-cli";
import { describe, expect, it } from "vitest";
import { formatWithBiome, replaceGeneratedBlock } from "./generated-blocks.js";
import { REPO_ROOT } from "./markdown.js";

const DOC = join(REPO_ROOT, "docs/cli.md");

/** docs/cli.md with its generated blocks made anew from the command and exit-code tables. */
function regenerate(text: string): string {
  let out = replaceGeneratedBlock(text, "strata", formatCommandsMarkdown("strata", strataCommands));
  out = replaceGeneratedBlock(
    out,
    "strata-image",
    formatCommandsMarkdown("strata-image", imageCommands),
  );
  out = replaceGeneratedBlock(out, "exit-codes", formatExitCodesMarkdown());
  return formatWithBiome(out, "docs/cli.md");
}

describe("docs/cli.md", () => {
  const text = readFileSync(DOC, "utf8");

  // Stale after a command, flag or error code changed: run `pnpm docs` and commit the result.
  it("holds the command and exit-code blocks as the tables make them now (else: pnpm docs)", async () => {
    await expect(regenerate(text)).toMatchFileSnapshot(DOC);
  });

  it("has a section per command and every flag of each", () => {
    for (const [program, commands] of [
      ["strata", strataCommands],
      ["strata-image", imageCommands],
    ] as const) {
      for (const command of commands) {
        expect(text).toContain(`### \`${program} ${command.name}\``);
        for (const flag of Object.keys(command.options)) expect(text).toContain(`--${flag}`);
      }
    }
  });

  it("lists every error code with its exit status", () => {
    for (const code of Object.keys(EXIT_CODES)) expect(text).toContain(`\`${code}\``);
  });
});

describe("replaceGeneratedBlock", () => {
  it("replaces only what is between the markers", () => {
    const text = "intro\n<!-- generated:x -->\nold\n<!-- /generated:x -->\noutro\n";
    expect(replaceGeneratedBlock(text, "x", "new\n")).toBe(
      "intro\n<!-- generated:x -->\n\nnew\n\n<!-- /generated:x -->\noutro\n",
    );
    expect(() => replaceGeneratedBlock(text, "y", "new")).toThrow(/generated:y/);
  });
});

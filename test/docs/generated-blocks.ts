import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./markdown.js";

/** The markers around a generated part of a hand-written Markdown file. */
function markers(name: string): [string, string] {
  return [`<!-- generated:${name} -->`, `<!-- /generated:${name} -->`];
}

/**
 * `text` with the block between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`
 * replaced by `content` (the prose around it is kept). Throws when the markers are missing.
 */
export function replaceGeneratedBlock(text: string, name: string, content: string): string {
  const [open, close] = markers(name);
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) throw new Error(`no "${open}" ... "${close}" block`);
  return `${text.slice(0, start + open.length)}\n\n${content.trim()}\n\n${text.slice(end)}`;
}

/**
 * `text` as `biome format` (the repository's formatter, run by `pnpm lint`) writes it for `path`,
 * so a generated file is already formatted when it is written.
 */
export function formatWithBiome(text: string, path: string): string {
  const biome = join(REPO_ROOT, "node_modules", ".bin", "biome");
  const result = spawnSync(biome, ["format", `--stdin-file-path=${path}`], {
    cwd: REPO_ROOT,
    input: text,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`biome format failed: ${result.stderr}`);
  return result.stdout;
}

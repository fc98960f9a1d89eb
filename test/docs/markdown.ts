import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Lexer, type Token, type Tokens, walkTokens } from "marked";

/** The repository's root (this file is test/docs/markdown.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const SKIPPED_DIRS = new Set(["node_modules", "dist", ".turbo", ".git"]);

/** Every Markdown file of the repository (paths relative to its root), build output aside. */
export function listMarkdownFiles(dir = REPO_ROOT): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) found.push(...listMarkdownFiles(join(dir, entry.name)));
    } else if (entry.name.endsWith(".md")) {
      found.push(relative(REPO_ROOT, join(dir, entry.name)));
    }
  }
  return found.sort();
}

/** The tokens of a Markdown file (code blocks and spans are their own tokens, so never links). */
export function readMarkdown(path: string, root = REPO_ROOT): Token[] {
  return new Lexer().lex(readFileSync(join(root, path), "utf8"));
}

/** Every link and image target of a document, as written. */
export function listLinkTargets(tokens: Token[]): string[] {
  const targets: string[] = [];
  walkTokens(tokens, (token) => {
    if (token.type === "link" || token.type === "image") targets.push((token as Tokens.Link).href);
  });
  return targets;
}

/** The text of every heading, as written (backticks kept). */
export function listHeadings(tokens: Token[]): string[] {
  return tokens
    .filter((token): token is Tokens.Heading => token.type === "heading")
    .map((heading) => heading.text);
}

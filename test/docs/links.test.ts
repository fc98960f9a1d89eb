import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { listLinkTargets, listMarkdownFiles, REPO_ROOT, readMarkdown } from "./markdown.js";

/** A link that leaves the repository or points at nothing: what a reader of a clone would hit. */
function findBrokenLinks(file: string, root = REPO_ROOT): string[] {
  const broken: string[] = [];
  for (const target of listLinkTargets(readMarkdown(file, root))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue; // URL or anchor
    const path = decodeURI(target.split("#")[0]!.split("?")[0]!);
    const absolute = path.startsWith("/") ? path : resolve(root, dirname(file), path);
    const inside = relative(root, absolute);
    if (inside.startsWith("..") || path.startsWith("/"))
      broken.push(`${target} (outside the repository)`);
    else if (!existsSync(absolute)) broken.push(`${target} (no such file)`);
  }
  return broken;
}

describe("Markdown links", () => {
  const files = listMarkdownFiles();

  it("finds the docs and the READMEs", () => {
    expect(files).toContain("README.md");
    expect(files).toContain("docs/architecture.md");
    expect(files).toContain("packages/spec-parser/README.md");
  });

  it.each(files)("%s: every relative link resolves to a file in the repository", (file) => {
    expect(findBrokenLinks(file)).toEqual([]);
  });

  it.each(files.filter((file) => file.startsWith("docs/")))(
    "%s: names nothing outside the repository",
    (file) => {
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      expect(text).not.toMatch(/\.\.\/shared|\/work\//);
    },
  );
});

describe("findBrokenLinks", () => {
  it("reports a link to a missing file and one that leaves the repository", async () => {
    const dir = await mkdtemp(join(tmpdir(), "strata-links-"));
    try {
      await mkdir(join(dir, "sub"));
      await writeFile(join(dir, "sub/there.md"), "");
      await writeFile(
        join(dir, "doc.md"),
        [
          "[ok](sub/there.md#top) [web](https://example.org) [anchor](#x)",
          "[missing](sub/gone.md) [out](../shared/DESIGN.md) [abs](/work/x.md)",
          "`[code](not/a/link.md)`",
          "",
        ].join("\n"),
      );
      expect(findBrokenLinks("doc.md", dir)).toEqual([
        "sub/gone.md (no such file)",
        "../shared/DESIGN.md (outside the repository)",
        "/work/x.md (outside the repository)",
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const exec = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");

interface Packed {
  name: string;
  files: { path: string }[];
}

/** Workspace package name → its directory. */
function listPackageDirs(): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const parent of ["packages", "apps"]) {
    for (const name of readdirSync(join(root, parent))) {
      const manifest = join(root, parent, name, "package.json");
      if (existsSync(manifest))
        dirs.set(JSON.parse(readFileSync(manifest, "utf8")).name, join(root, parent, name));
    }
  }
  return dirs;
}

/** The string paths an `exports` entry or `bin` names. */
function listTargets(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value && typeof value === "object") return Object.values(value).flatMap(listTargets);
  return [];
}

// What `npm publish` / `pnpm publish` would ship: every source map must point at shipped files
// (src is shipped beside dist for that, and for the `source` export condition), no tests.
describe("published package contents (pnpm pack --dry-run)", async () => {
  const { stdout } = await exec("pnpm", ["-r", "pack", "--dry-run", "--json"], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
  });
  const packed = JSON.parse(stdout) as Packed[];
  const dirs = listPackageDirs();

  it("packs every workspace package", () => {
    expect(packed.map((p) => p.name).sort()).toEqual([...dirs.keys()].sort());
  });

  it.each(packed.map((p) => [p.name, p] as const))("%s", (_name, pack) => {
    const dir = dirs.get(pack.name)!;
    const files = new Set(pack.files.map((f) => f.path));
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const named = [...listTargets(manifest.exports), ...listTargets(manifest.bin)];
    const unpackedTargets = named
      .map((target) => posix.normalize(target))
      .filter((target) => existsSync(join(dir, target)) && !files.has(target));
    expect(unpackedTargets).toEqual([]);
    expect([...files].filter((file) => file.endsWith(".test.ts"))).toEqual([]);
    const missing: string[] = [];
    for (const file of files) {
      if (!file.endsWith(".map")) continue;
      const map = JSON.parse(readFileSync(join(dir, file), "utf8")) as {
        sourceRoot?: string;
        sources: string[];
      };
      for (const source of map.sources) {
        const path = relative(dir, join(dir, dirname(file), map.sourceRoot ?? "", source));
        if (!files.has(path)) missing.push(`${file} -> ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { testImageDir } from "../support/base-image.mjs";
import { REPO_ROOT } from "./markdown.js";

const exec = promisify(execFile);
const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");

// The README's claims about where things go, against the code that puts them there.
describe("README.md", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("names the directory the test base image is cached in", () => {
    vi.stubEnv("HOME", "/home/u");
    vi.stubEnv("XDG_CACHE_HOME", "");
    const dir = testImageDir();
    expect(dir.startsWith("/home/u/.cache/strata/base-images/")).toBe(true);
    expect(readme).toContain("`~/.cache/strata/base-images/`");
    expect(readme).toContain("`$XDG_CACHE_HOME/strata/base-images/`");
  });

  it("names the bin directory setup links strata into, and the PATH line it prints", async () => {
    const home = await mkdtemp(join(tmpdir(), "strata-readme-"));
    try {
      const { stdout } = await exec("bash", [join(REPO_ROOT, "scripts/link-bins.sh")], {
        env: { HOME: home, PATH: "/usr/bin:/bin" },
      });
      expect(await readlink(join(home, ".local/bin/strata"))).toBe(
        join(REPO_ROOT, "apps/cli/bin/strata.js"),
      );
      expect(stdout).toContain("export PATH=");
      expect(readme).toContain("`~/.local/bin`");
      expect(readme).toContain("`export PATH=...`");
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe("test/README.md", () => {
  it("has a row for every end-to-end test file, and none for a file that is gone", async () => {
    const doc = await readFile(join(REPO_ROOT, "test/README.md"), "utf8");
    const rows = [...doc.matchAll(/^\| `([\w-]+\.test\.ts)`/gm)].map((m) => m[1]).sort();
    const files = (await readdir(join(REPO_ROOT, "test")))
      .filter((f) => f.endsWith(".test.ts"))
      .sort();
    expect(rows).toEqual(files);
  });
});

import { execFile } from "node:child_process";
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-setup-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function bash(script: string, env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await exec("bash", [join(root, "scripts", script)], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("scripts/check-node.sh", () => {
  async function withNode(version: string) {
    await writeFile(join(dir, "node"), `#!/bin/sh\necho ${version}\n`);
    await chmod(join(dir, "node"), 0o755);
    return bash("check-node.sh", { PATH: `${dir}:/usr/bin:/bin` });
  }

  it("stops on Node 18 (Debian 12's) with a message naming the version", async () => {
    const result = await withNode("18.19.0");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Node.js >= 20 is needed, found 18.19.0");
  });

  it("passes Node 20 and newer", async () => {
    expect((await withNode("20.11.1")).code).toBe(0);
    expect((await withNode("22.3.0")).code).toBe(0);
  });
});

describe("scripts/link-bins.sh", () => {
  it("links both apps into the bin directory and prints the PATH line when it is missing", async () => {
    const bin = join(dir, "bin");
    const result = await bash("link-bins.sh", { PATH: "/usr/bin:/bin", STRATA_BIN_DIR: bin });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`add it with: export PATH="${bin}:$PATH"`);
    expect((await readdir(bin)).sort()).toEqual(["strata", "strata-image"]);
    expect(await readlink(join(bin, "strata"))).toBe(join(root, "apps/cli/bin/strata.js"));
    const again = await bash("link-bins.sh", { PATH: `${bin}:/usr/bin:/bin`, STRATA_BIN_DIR: bin });
    expect(again.stdout).not.toContain("export PATH");
  });
});

describe("licence and package metadata", () => {
  it("has the Apache-2.0 text and license, description, repository, engines in every package.json", async () => {
    expect(await readFile(join(root, "LICENSE"), "utf8")).toContain(
      "Apache License\n                           Version 2.0, January 2004",
    );
    const dirs = [
      ...(await readdir(join(root, "packages"))).map((d) => `packages/${d}`),
      ...(await readdir(join(root, "apps"))).map((d) => `apps/${d}`),
    ];
    for (const d of dirs) {
      const pkg = JSON.parse(await readFile(join(root, d, "package.json"), "utf8"));
      expect(pkg.license, d).toBe("Apache-2.0");
      expect(pkg.description, d).toMatch(/^\S.{20,}/);
      expect(pkg.repository, d).toMatchObject({ type: "git", directory: d });
      expect(pkg.engines, d).toEqual({ node: ">=20" });
    }
  });
});

describe("scripts/node-headers.sh", () => {
  /** A fake `node` of VERSION in DIR/prefix/bin, and headers of MAJOR under each of `headers`. */
  async function setUp(version: string, headers: Record<string, number>) {
    const bin = join(dir, "prefix", "bin");
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, "node"), `#!/bin/sh\necho ${version}\n`);
    await chmod(join(bin, "node"), 0o755);
    for (const [where, major] of Object.entries(headers)) {
      const include = join(dir, where, "include", "node");
      await mkdir(include, { recursive: true });
      await writeFile(join(include, "node.h"), "");
      await writeFile(join(include, "node_version.h"), `#define NODE_MAJOR_VERSION ${major}\n`);
    }
    return { PATH: `${bin}:/usr/bin:/bin`, HOME: join(dir, "home") };
  }
  const dirs = (...names: string[]) => names.map((name) => join(dir, name)).join(" ");

  it("picks Node's own prefix first, then the system's, only with the running major version", async () => {
    const env = await setUp("20.19.1", { prefix: 20, usr: 20 });
    const both = await bash("node-headers.sh", { ...env, STRATA_NODE_HEADER_DIRS: undefined });
    expect(both.stdout.trim()).toBe(join(dir, "prefix"));
    const onlySystem = await bash("node-headers.sh", {
      ...env,
      STRATA_NODE_HEADER_DIRS: dirs("elsewhere", "usr"),
    });
    expect(onlySystem.stdout.trim()).toBe(join(dir, "usr"));
  });

  it("prints nothing for headers of another major version (Debian 12's nodejs 18 headers)", async () => {
    const env = await setUp("20.19.1", { usr: 18 });
    const result = await bash("node-headers.sh", { ...env, STRATA_NODE_HEADER_DIRS: dirs("usr") });
    expect(result).toMatchObject({ code: 0, stdout: "" });
  });

  it("prints nothing when node-gyp's cache has this version's headers or nodedir is set", async () => {
    const env = await setUp("20.19.1", { usr: 20 });
    const cached = join(dir, "home", ".cache", "node-gyp", "20.19.1", "include", "node");
    const withSystem = { ...env, STRATA_NODE_HEADER_DIRS: dirs("usr") };
    expect((await bash("node-headers.sh", withSystem)).stdout.trim()).toBe(join(dir, "usr"));
    const chosen = await bash("node-headers.sh", { ...withSystem, npm_config_nodedir: "/opt/n" });
    expect(chosen).toMatchObject({ code: 0, stdout: "" });
    await mkdir(cached, { recursive: true });
    await writeFile(join(cached, "node.h"), "");
    expect(await bash("node-headers.sh", withSystem)).toMatchObject({ code: 0, stdout: "" });
  });
});

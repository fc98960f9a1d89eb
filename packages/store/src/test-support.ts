// Helpers shared by this package's tests (excluded from the build): temp stores, tiny base
// images, and data written and verified with real qemu-io.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";

/** Test images are tiny and sparse: 64 MiB virtual, a few KiB on disk. */
const TEST_IMAGE_SIZE = "64M";

export function tempDir(prefix = "strata-store-"): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function createBaseImage(root: string, name = "test-base"): Promise<string> {
  mkdirSync(join(root, "base-image"), { recursive: true });
  const image = join(root, "base-image", `${name}.qcow2`);
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", image, TEST_IMAGE_SIZE]);
  return image;
}

export function layerId(label: string): string {
  return createHash("sha256").update(label).digest("hex");
}

/** Fills `length` bytes at `offset` with the byte `pattern`. */
export async function writePattern(
  image: string,
  pattern: number,
  offset: number,
  length: number,
): Promise<void> {
  await execa("qemu-io", ["-f", "qcow2", "-c", `write -P ${pattern} ${offset} ${length}`, image]);
}

/** True when every byte of the range reads back as `pattern` (through the backing chain). */
export async function hasPattern(
  image: string,
  pattern: number,
  offset: number,
  length: number,
): Promise<boolean> {
  const result = await execa(
    "qemu-io",
    ["-r", "-U", "-f", "qcow2", "-c", `read -P ${pattern} ${offset} ${length}`, image],
    { reject: false },
  );
  return result.exitCode === 0 && !/verification failed/.test(result.stdout);
}

/** The command line that runs a TypeScript file of this package in a child process. */
export function typescriptRunner(): { command: string; args: string[] } {
  const require = createRequire(import.meta.url);
  const vitest = require.resolve("vitest/package.json");
  const viteNode = createRequire(vitest).resolve("vite-node/package.json");
  return { command: process.execPath, args: [join(dirname(viteNode), "vite-node.mjs")] };
}

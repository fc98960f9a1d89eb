// The Debian base image every VM test boots, built once per machine and cached outside the
// repo, keyed by its recipe: ${XDG_CACHE_HOME:-~/.cache}/strata/base-images/<name>-<key>/.
// Used by vitest's global setup and from the command line (`node test/support/base-image.mjs`
// prints the directory, building the image first if needed).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DEFAULT_DEBIAN_RECIPE, buildDebianImage, debianRecipeKey } from "@strata/image-builder";

export const TEST_IMAGE_NAME = DEFAULT_DEBIAN_RECIPE.name;

export function testImageDir() {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cache, "strata", "base-images", `${TEST_IMAGE_NAME}-${debianRecipeKey(DEFAULT_DEBIAN_RECIPE)}`);
}

/** Returns the directory holding `<name>.qcow2`, its manifest, kernel, initrd and key. */
export async function ensureTestBaseImage({ log = (m) => console.error(m) } = {}) {
  const dir = testImageDir();
  if (existsSync(join(dir, `${TEST_IMAGE_NAME}.qcow2`))) return dir;
  mkdirSync(dir, { recursive: true });
  const keyPath = join(dir, "id_ed25519");
  if (!existsSync(keyPath))
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "strata-test", "-f", keyPath]);
  const started = Date.now();
  log(`building the test base image in ${dir} (a few minutes, once per machine)`);
  await buildDebianImage({
    outDir: dir,
    publicKey: readFileSync(`${keyPath}.pub`, "utf8"),
    privateKeyPath: keyPath,
    onProgress: (e) => {
      if (e.type === "stage") log(`  ${e.stage}: ${e.message}`);
    },
  });
  log(`test base image ready in ${Math.round((Date.now() - started) / 1000)} s`);
  return dir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  ensureTestBaseImage().then(
    (dir) => console.log(dir),
    (err) => {
      console.error(err?.message ?? err);
      process.exit(1);
    },
  );
}

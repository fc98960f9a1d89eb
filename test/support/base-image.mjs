// The Debian base image every VM test boots (and the arm64 one test/arm64.test.ts boots), built
// once per machine and cached outside the repo, keyed by its recipe:
// ${XDG_CACHE_HOME:-~/.cache}/strata/base-images/<name>-<key>/. Used by vitest's global setup
// and from the command line (`node test/support/base-image.mjs [debian-bookworm-arm64]` prints
// the directory, building the image first if needed).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildDebianImage } from "@strata/image-builder";
import {
  ARM64_DEBIAN_RECIPE,
  DEFAULT_DEBIAN_RECIPE,
  debianRecipeKey,
  removeBuildDir,
} from "@strata/image-builder/internal";

export const TEST_IMAGE_NAME = DEFAULT_DEBIAN_RECIPE.name;
/** The test images by name: the amd64 one every VM test boots, the arm64 one. */
export const TEST_RECIPES = {
  [DEFAULT_DEBIAN_RECIPE.name]: DEFAULT_DEBIAN_RECIPE,
  [ARM64_DEBIAN_RECIPE.name]: ARM64_DEBIAN_RECIPE,
};

export function testImageDir(recipe = DEFAULT_DEBIAN_RECIPE) {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cache, "strata", "base-images", `${recipe.name}-${debianRecipeKey(recipe)}`);
}

/** Returns the directory holding `<name>.qcow2`, its manifest, kernel, initrd and key. */
export async function ensureTestBaseImage({
  recipe = DEFAULT_DEBIAN_RECIPE,
  log = (m) => console.error(m),
} = {}) {
  const dir = testImageDir(recipe);
  const image = join(dir, `${recipe.name}.qcow2`);
  if (existsSync(image)) return dir;
  mkdirSync(dir, { recursive: true });
  // Several test processes may ask at once: one builds, the others wait for it.
  const release = await lockDir(join(dir, ".lock"), log);
  try {
    if (existsSync(image)) return dir;
    await buildInto(dir, recipe, log);
  } finally {
    release();
  }
  return dir;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

async function lockDir(path, log) {
  for (let waited = 0; ; waited++) {
    try {
      writeFileSync(path, String(process.pid), { flag: "wx" });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      const owner = Number(readFileSync(path, "utf8"));
      if (!owner || !isAlive(owner)) {
        rmSync(path, { force: true });
        continue;
      }
      if (waited === 0) log(`waiting for process ${owner}, which is building a test base image`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

async function buildInto(dir, recipe, log) {
  // A killed build may have left /proc and /sys mounted inside its tree.
  for (const f of readdirSync(dir))
    if (f.startsWith(".building-")) await removeBuildDir(join(dir, f));
  const keyPath = join(dir, "id_ed25519");
  if (!existsSync(keyPath))
    execFileSync("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      "strata-test",
      "-f",
      keyPath,
    ]);
  const started = Date.now();
  log(`building the test base image ${recipe.name} in ${dir} (minutes, once per machine)`);
  await buildDebianImage({
    outDir: dir,
    recipe,
    publicKey: readFileSync(`${keyPath}.pub`, "utf8"),
    privateKeyPath: keyPath,
    onProgress: (e) => {
      if (e.type === "stage")
        log(`  [+${Math.round((Date.now() - started) / 1000)} s] ${e.stage}: ${e.message}`);
    },
  });
  log(`test base image ${recipe.name} ready in ${Math.round((Date.now() - started) / 1000)} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const name = process.argv[2] ?? TEST_IMAGE_NAME;
  const recipe = TEST_RECIPES[name];
  if (!recipe) {
    console.error(`unknown test image "${name}"; known: ${Object.keys(TEST_RECIPES).join(", ")}`);
    process.exit(2);
  }
  ensureTestBaseImage({ recipe }).then(
    (dir) => console.log(dir),
    (err) => {
      console.error(err?.message ?? err);
      process.exit(1);
    },
  );
}

import { ensureKeyPair } from "@strata/ssh-transport";
import { storeLayout } from "@strata/store/layout";
import { buildDebianImage } from "./build-debian.js";
import { ARM64_DEBIAN_RECIPE, DEFAULT_DEBIAN_RECIPE } from "./debian-recipe.js";
import { ImageInputError } from "./errors.js";
import { assertImageAbsent, checkImageName } from "./image-files.js";
import type { ImageProgressListener } from "./progress.js";
import { buildUbuntuImage } from "./ubuntu.js";
import { buildWindowsImage } from "./windows.js";

/** The recipes `buildRecipe` knows, each with its home under `images/`. */
export const RECIPES = [
  "debian-bookworm",
  "debian-bookworm-arm64",
  "ubuntu-noble",
  "windows-server-2022",
] as const;
export type RecipeName = (typeof RECIPES)[number];

export interface BuildRecipeOptions {
  recipe: string;
  /** The store root (`--store=qemu:DIR`); the image goes to `<root>/base-image/`. */
  storeRoot: string;
  /** @default the recipe's name */
  name?: string | undefined;
  /** Extra packages (Debian: installed by mmdebstrap; Ubuntu: by cloud-init). */
  packages?: readonly string[];
  /** Windows: the install ISO and the virtio-win ISO. */
  iso?: string | undefined;
  virtioIso?: string | undefined;
  /** Ubuntu: where SHA256SUMS and the image are. */
  baseUrl?: string | undefined;
  /**
   * Rebuild an image that exists (`--force`): the old one stays in place and usable until the
   * new one is complete, then its files are replaced (see `moveImageInto`). @default false
   */
  replace?: boolean | undefined;
  onProgress?: ImageProgressListener;
  signal?: AbortSignal;
}

/** Checks recipe options before anything is written; every problem, with its flag. */
function checkRecipeOptions(o: BuildRecipeOptions): string[] {
  const problems: string[] = [];
  if (!(RECIPES as readonly string[]).includes(o.recipe))
    problems.push(`recipe "${o.recipe}": unknown; recipes: ${RECIPES.join(", ")}`);
  const windows = o.recipe === "windows-server-2022";
  if (windows && !o.iso)
    problems.push("--iso: required for windows-server-2022 (the Windows Server 2022 ISO)");
  if (windows && !o.virtioIso)
    problems.push("--virtio-iso: required for windows-server-2022 (virtio-win.iso)");
  if (!windows && (o.iso || o.virtioIso))
    problems.push("--iso, --virtio-iso: only for windows-server-2022");
  if (o.baseUrl && o.recipe !== "ubuntu-noble") problems.push("--base-url: only for ubuntu-noble");
  if (o.packages?.length && windows) problems.push("--package: not for windows-server-2022");
  return problems;
}

/**
 * Builds a recipe into a store: the store's SSH key (generated on first use in `<store>/keys/`)
 * is installed for the image's user, and a copy of the private key lands beside the image as
 * `<name>.key` (mode 0600), named by the manifest's `ssh.privateKey`.
 */
export async function buildRecipe(options: BuildRecipeOptions) {
  const problems = checkRecipeOptions(options);
  if (problems.length > 0) throw new ImageInputError(problems.join("\n"));
  const layout = storeLayout(options.storeRoot);
  const name = options.name ?? options.recipe;
  if (options.replace) checkImageName(name);
  else await assertImageAbsent(layout.baseImageDir, name);
  const keys = await ensureKeyPair(layout.keysDir);
  const common = {
    outDir: layout.baseImageDir,
    publicKey: keys.publicKey,
    privateKeyPath: keys.privateKeyPath,
    replace: options.replace ?? false,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  switch (options.recipe as RecipeName) {
    case "debian-bookworm":
    case "debian-bookworm-arm64": {
      const recipe =
        options.recipe === "debian-bookworm" ? DEFAULT_DEBIAN_RECIPE : ARM64_DEBIAN_RECIPE;
      return buildDebianImage({
        ...common,
        recipe: {
          name,
          arch: recipe.arch,
          packages: [...recipe.packages, ...(options.packages ?? [])],
        },
      });
    }
    case "ubuntu-noble":
      return buildUbuntuImage({
        ...common,
        name,
        downloadDir: layout.downloadsDir,
        packages: options.packages ?? [],
        ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
      });
    case "windows-server-2022":
      return buildWindowsImage({
        ...common,
        name,
        iso: options.iso!,
        virtioIso: options.virtioIso!,
      });
  }
}

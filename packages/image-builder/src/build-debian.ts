import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defaultShell } from "@strata/qemu-runner";
import { quotePosix } from "@strata/shell-quote";
import {
  DEFAULT_DEBIAN_RECIPE,
  type DebianRecipe,
  debianArch,
  debianKernelCmdline,
  debianRecipeKey,
  debianSetupScript,
  validateDebianRecipe,
} from "./debian-recipe.js";
import { ImageInputError } from "./errors.js";
import { checkForeignArch } from "./foreign-arch.js";
import { copyImageKey, saveImage } from "./image-files.js";
import type { ImageProgressListener } from "./progress.js";
import { removeBuildDir } from "./remove-build-dir.js";
import { runTool } from "./run-tool.js";
import { createWorkDir } from "./work-dir.js";

export interface BuildDebianImageOptions {
  /** Directory the image and its files are written to (a store's `base-image/`). */
  outDir: string;
  /** OpenSSH public key line installed for the build user. */
  publicKey: string;
  /** Private key to copy beside the image (mode 0600) and name in the manifest. */
  privateKeyPath?: string | undefined;
  recipe?: Partial<DebianRecipe>;
  onProgress?: ImageProgressListener;
  signal?: AbortSignal;
}

export interface BuiltImage {
  name: string;
  image: string;
  manifestPath: string;
  recipeKey: string;
}

/**
 * Builds a Debian base image from packages: mmdebstrap (reading the host's apt sources) into a
 * directory, the setup script as a customize hook, `mke2fs -d` into a raw disk, conversion to
 * qcow2, and the kernel and initrd copied out for direct kernel boot. Needs root: mmdebstrap's
 * directory mode writes files owned by root, which `mke2fs -d` copies into the filesystem.
 * Files appear in `outDir` only when complete; the qcow2 is renamed into place last.
 */
export async function buildDebianImage(options: BuildDebianImageOptions): Promise<BuiltImage> {
  const recipe: DebianRecipe = { ...DEFAULT_DEBIAN_RECIPE, ...options.recipe };
  const problems = validateDebianRecipe(recipe);
  if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+) \S+/.test(options.publicKey.trim()))
    problems.push("publicKey: not an OpenSSH public key line");
  if (problems.length > 0)
    throw new ImageInputError(`invalid Debian recipe:\n  ${problems.join("\n  ")}`);
  if (process.getuid?.() !== 0)
    throw new ImageInputError(
      "building the Debian image needs root (mmdebstrap writes a root-owned tree that mke2fs copies); run it as root",
    );
  await checkForeignArch(recipe.arch);
  const { name } = recipe;
  const progress = options.onProgress;
  await mkdir(options.outDir, { recursive: true });
  const work = join(options.outDir, `.building-${name}-${process.pid}`);
  await createWorkDir(work);
  try {
    const rootDir = join(work, "root");
    const script = join(work, "setup.sh");
    await writeFile(script, debianSetupScript(recipe.user, options.publicKey.trim()), {
      mode: 0o755,
    });
    progress?.({
      type: "stage",
      stage: "mmdebstrap",
      message: `installing ${recipe.packages.length} packages from ${recipe.suite}`,
    });
    await runTool(
      "mmdebstrap",
      [
        "--mode=root",
        "--variant=apt",
        `--arch=${debianArch(recipe.arch).debian}`,
        `--include=${recipe.packages.join(",")}`,
        // The kernel's postinst builds an initramfs before the setup script configures the
        // small one (and builds it again): with the default MODULES=most that first one takes
        // minutes for nothing, many more for arm64 under qemu-user. Same image either way.
        '--essential-hook=mkdir -p "$1/etc/initramfs-tools/conf.d" && echo MODULES=list > "$1/etc/initramfs-tools/conf.d/strata"',
        // mmdebstrap runs a hook with `sh -c`: the script's path is one quoted word.
        `--customize-hook=sh ${quotePosix(script)} "$1"`,
        '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin',
        recipe.suite,
        rootDir,
      ],
      { stage: "mmdebstrap", onProgress: progress, signal: options.signal },
    );
    const boot = await readdir(join(rootDir, "boot"));
    const vmlinuz = boot.find((f) => f.startsWith("vmlinuz-"));
    const initrd = boot.find((f) => f.startsWith("initrd.img-"));
    if (!vmlinuz || !initrd)
      throw new ImageInputError(
        `no kernel in the image's /boot (found: ${boot.join(", ")}); is ${debianArch(recipe.arch).kernel} in the package list?`,
      );
    await copyFile(join(rootDir, "boot", vmlinuz), join(work, `${name}.vmlinuz`));
    await copyFile(join(rootDir, "boot", initrd), join(work, `${name}.initrd`));

    progress?.({
      type: "stage",
      stage: "mkfs",
      message: `making a ${recipe.sizeGiB} GiB ext4 filesystem`,
    });
    const raw = join(work, "disk.raw");
    await runTool("truncate", ["-s", `${recipe.sizeGiB}G`, raw], {
      stage: "mkfs",
      signal: options.signal,
    });
    // Recorded in the manifest: a guest that later presents another host key is refused.
    const hostKey = await readHostKey(rootDir);
    await runTool("mke2fs", ["-q", "-t", "ext4", "-L", "strata-root", "-d", rootDir, raw], {
      stage: "mkfs",
      onProgress: progress,
      signal: options.signal,
    });
    await rm(rootDir, { recursive: true, force: true });

    progress?.({ type: "stage", stage: "convert", message: "converting to qcow2" });
    await runTool(
      "qemu-img",
      ["convert", "-p", "-f", "raw", "-O", "qcow2", raw, join(work, `${name}.qcow2`)],
      { stage: "convert", onProgress: progress, signal: options.signal },
    );
    await rm(raw, { force: true });

    const key = options.privateKeyPath
      ? await copyImageKey(options.privateKeyPath, work, name)
      : undefined;
    const recipeKey = debianRecipeKey(recipe);
    const manifest = {
      name,
      os: "linux",
      arch: recipe.arch,
      boot: {
        mode: "kernel",
        kernel: `${name}.vmlinuz`,
        initrd: `${name}.initrd`,
        cmdline: debianKernelCmdline(recipe.arch),
      },
      firmware: "bios",
      disk: { interface: "virtio" },
      ssh: {
        user: recipe.user,
        port: 22,
        ...(key ? { privateKey: key } : {}),
        ...(hostKey ? { hostKey } : {}),
      },
      shell: defaultShell("linux"),
      memoryMiB: 1024,
      cpus: 2,
      recipe: { name: "debian", key: recipeKey, suite: recipe.suite, packages: recipe.packages },
      created: new Date().toISOString(),
    };
    const saved = await saveImage(work, options.outDir, name, manifest, [
      `${name}.vmlinuz`,
      `${name}.initrd`,
      ...(key ? [key] : []),
    ]);
    progress?.({
      type: "stage",
      stage: "done",
      message: `wrote ${saved.image}`,
    });
    return { ...saved, recipeKey };
  } finally {
    await removeBuildDir(work);
  }
}

/**
 * The image's ed25519 SSH host public key (openssh-server's postinst made it in the chroot) as
 * `TYPE BASE64`, without the comment; undefined when the image has none.
 */
export async function readHostKey(rootDir: string): Promise<string | undefined> {
  const line = await readFile(join(rootDir, "etc/ssh/ssh_host_ed25519_key.pub"), "utf8").catch(
    () => undefined,
  );
  const [type, b64] = line?.trim().split(/\s+/) ?? [];
  return type === "ssh-ed25519" && b64 ? `${type} ${b64}` : undefined;
}

import { copyFile, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { defaultShell } from "@strata/qemu-runner";
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
 * Builds a Debian base image from packages: mmdebstrap (reading the host's apt sources, the setup
 * script as a customize hook) into a tarball, the tarball unpacked under fakeroot and copied by
 * `mke2fs -d` into a raw disk (fakeroot hands mke2fs the tarball's owners and device nodes, so an
 * ordinary user makes the same file system as root), conversion to qcow2, and the kernel and
 * initrd copied out for direct kernel boot. As root mmdebstrap runs in its `root` mode; as an
 * ordinary user in `unshare` mode (user namespaces and subordinate ids, see
 * {@link unshareProblems}); the rest is the same for both.
 * Files appear in `outDir` only when complete; the qcow2 is renamed into place last.
 */
export async function buildDebianImage(options: BuildDebianImageOptions): Promise<BuiltImage> {
  const recipe: DebianRecipe = { ...DEFAULT_DEBIAN_RECIPE, ...options.recipe };
  const problems = validateDebianRecipe(recipe);
  if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+) \S+/.test(options.publicKey.trim()))
    problems.push("publicKey: not an OpenSSH public key line");
  if (problems.length > 0)
    throw new ImageInputError(`invalid Debian recipe:\n  ${problems.join("\n  ")}`);
  const asRoot = process.getuid?.() === 0;
  if (!asRoot) {
    const missing = await unshareProblems();
    if (missing.length > 0)
      throw new ImageInputError(
        `building the Debian image as an ordinary user needs user namespaces (mmdebstrap --mode=unshare):\n  ${missing.join("\n  ")}\nor build it as root`,
      );
  }
  await checkForeignArch(recipe.arch);
  const { name } = recipe;
  const progress = options.onProgress;
  await mkdir(options.outDir, { recursive: true });
  const work = join(options.outDir, `.building-${name}-${process.pid}`);
  await createWorkDir(work);
  try {
    const tarball = join(work, "root.tar");
    progress?.({
      type: "stage",
      stage: "mmdebstrap",
      message: `installing ${recipe.packages.length} packages from ${recipe.suite}${asRoot ? "" : " (unshare mode)"}`,
    });
    await runTool(
      "mmdebstrap",
      [
        `--mode=${asRoot ? "root" : "unshare"}`,
        "--variant=apt",
        `--arch=${debianArch(recipe.arch).debian}`,
        `--include=${recipe.packages.join(",")}`,
        // The kernel's postinst builds an initramfs before the setup script configures the
        // small one (and builds it again): with the default MODULES=most that first one takes
        // minutes for nothing, many more for arm64 under qemu-user. Same image either way.
        '--essential-hook=mkdir -p "$1/etc/initramfs-tools/conf.d" && echo MODULES=list > "$1/etc/initramfs-tools/conf.d/strata"',
        // The script itself is the hook (run with `sh -c`, the tree as $1): in unshare mode the
        // hook runs as the namespace's root, which may not read a file in our private work dir.
        `--customize-hook=${debianSetupScript(recipe.user, options.publicKey.trim())}`,
        '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin',
        recipe.suite,
        tarball,
      ],
      {
        stage: "mmdebstrap",
        onProgress: progress,
        signal: options.signal,
        // As root, mmdebstrap's tree (and the mounts a killed run leaves in it) stays inside the
        // work dir, which removeBuildDir clears. In unshare mode its tree belongs to subordinate
        // ids, which may not enter the work dir; mmdebstrap removes it itself.
        env: asRoot ? { TMPDIR: work } : undefined,
      },
    );

    progress?.({ type: "stage", stage: "unpack", message: "unpacking the tree under fakeroot" });
    const rootDir = join(work, "root");
    const fakerootState = join(work, "fakeroot.state");
    await mkdir(rootDir);
    const unpack = ["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", tarball];
    await runTool("fakeroot", ["-s", fakerootState, "--", ...unpack, "-C", rootDir], {
      stage: "unpack",
      signal: options.signal,
    });
    await rm(tarball, { force: true });
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
    const mkfs = ["mke2fs", "-q", "-t", "ext4", "-L", "strata-root", "-d", rootDir, raw];
    await runTool("fakeroot", ["-i", fakerootState, "--", ...mkfs], {
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

/**
 * What an ordinary user lacks for mmdebstrap's unshare mode, each with the command that fixes it;
 * empty when nothing is missing. (mmdebstrap's own errors name none of these.)
 */
export async function unshareProblems(
  user = userInfo().username,
  read: (path: string) => Promise<string> = (p) => readFile(p, "utf8"),
): Promise<string[]> {
  const problems: string[] = [];
  const max = Number((await read("/proc/sys/user/max_user_namespaces").catch(() => "0")).trim());
  if (!(max > 0))
    problems.push(
      "user namespaces are off in this kernel (/proc/sys/user/max_user_namespaces is 0): sudo sysctl -w user.max_user_namespaces=15000",
    );
  const uid = String(process.getuid?.());
  for (const kind of ["uid", "gid"]) {
    const table = await read(`/etc/sub${kind}`).catch(() => "");
    if (!table.split("\n").some((l) => [user, uid].includes(l.split(":")[0] ?? "")))
      problems.push(
        `no subordinate ${kind}s for ${user} in /etc/sub${kind}: sudo usermod --add-sub${kind}s 100000-165535 ${user}`,
      );
  }
  return problems;
}

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { HostToolMissingError } from "@strata/host-tool";
import { hostGuestArch } from "@strata/qemu-runner";
import { type DebianArch, debianArch } from "./debian-recipe.js";

/** Where the kernel lists the interpreters it runs foreign binaries through. */
const BINFMT_DIR = "/proc/sys/fs/binfmt_misc";

/**
 * Building an image for another architecture than the host's runs its programs (dpkg's
 * maintainer scripts, update-initramfs) through qemu-user, which the kernel calls by its
 * binfmt_misc entry `qemu-<arch>`. Throws, saying what to install and run, unless that entry
 * is there and enabled; does nothing for the host's own architecture.
 */
export async function checkForeignArch(arch: DebianArch, binfmtDir = BINFMT_DIR): Promise<void> {
  const host = hostGuestArch();
  if (arch === host) return;
  const entry = join(binfmtDir, `qemu-${arch}`);
  const mounted = await readFile(join(binfmtDir, "status"), "utf8").catch(() => undefined);
  const text = await readFile(entry, "utf8").catch(() => undefined);
  const problem =
    mounted === undefined
      ? `binfmt_misc is not mounted on ${binfmtDir}`
      : text === undefined
        ? `${entry} does not exist`
        : /^enabled$/m.test(text)
          ? undefined
          : `${entry} is disabled`;
  if (problem === undefined) return;
  throw new HostToolMissingError(`qemu-${arch}`, {
    message:
      `building a ${debianArch(arch).debian} image on this ${host ?? process.arch} host runs its programs through qemu-user, but ${problem}. ` +
      `Install qemu-user-static and binfmt-support (scripts/setup.sh does), then run: ` +
      `mount -t binfmt_misc binfmt_misc ${binfmtDir} (if not mounted) and update-binfmts --enable qemu-${arch}`,
  });
}

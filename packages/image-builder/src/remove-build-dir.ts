import { readFile, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { runTool } from "./run-tool.js";

/** Mount points in /proc/self/mountinfo (field 5, with `\040`-style octal escapes undone). */
export function parseMountPoints(mountinfo: string): string[] {
  return mountinfo
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) =>
      (line.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) =>
        String.fromCharCode(Number.parseInt(o, 8)),
      ),
    );
}

/** The mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountsBelow(mountPoints: readonly string[], dir: string): string[] {
  const root = resolve(dir);
  return mountPoints
    .filter((m) => m === root || m.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Removes an image build's work directory. A build killed while mmdebstrap ran leaves /proc,
 * /sys and /dev/pts mounted inside its tree: those are unmounted first (lazily), so removal
 * never walks into the host's kernel file systems or stops half-way on a read-only one.
 */
export async function removeBuildDir(dir: string): Promise<void> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  for (const mount of mountsBelow(parseMountPoints(mountinfo), dir))
    await runTool("umount", ["--lazy", mount], { stage: "cleanup" });
  await rm(dir, { recursive: true, force: true });
}

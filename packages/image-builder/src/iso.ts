import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { HostToolError, HostToolMissingError, runHostTool } from "@strata/host-tool";
import { ImageInputError } from "./errors.js";
import { runTool } from "./run-tool.js";

interface WriteIsoOptions {
  /** The ISO file to write (replaced if present). */
  outPath: string;
  /** ISO 9660 volume label; the guest finds the disc by it (/dev/disk/by-label/<label>). */
  volumeLabel: string;
  /** A directory whose contents become the disc's root. */
  sourceDir?: string;
  /** Files written at the disc's root (name → content), beside `sourceDir`'s. */
  files?: Record<string, string | Buffer>;
  signal?: AbortSignal;
}

/** Volume labels are ISO 9660 "d-characters" in practice; cloud-init wants `cidata` exactly. */
const LABEL = /^[A-Za-z0-9_-]{1,32}$/;

async function hasTool(tool: string): Promise<boolean> {
  return runHostTool(tool, ["-version"]).then(
    () => true,
    (e: unknown) => !(e instanceof HostToolMissingError),
  );
}

/**
 * Writes an ISO 9660 image with Joliet and Rock Ridge names (so `user-data` and `setup.sh` keep
 * their names and exec bits). `-r`, not `-R`: owner root and read permission for all, or a
 * source made by mkdtemp (mode 0700) becomes a disc only root can enter with xorriso, or genisoimage where xorriso is missing.
 */
export async function writeIso(options: WriteIsoOptions): Promise<void> {
  if (!LABEL.test(options.volumeLabel))
    throw new ImageInputError(
      `volume label "${options.volumeLabel}": use 1 to 32 letters, digits, "_" or "-"`,
    );
  const staging = await mkdtemp(join(tmpdir(), "strata-iso-"));
  try {
    for (const [name, content] of Object.entries(options.files ?? {})) {
      if (name.split("/").some((part) => part === ".." || part === "") || name.startsWith("/"))
        throw new ImageInputError(
          `ISO file name "${name}" must be a relative path inside the disc`,
        );
      await mkdir(dirname(join(staging, name)), { recursive: true });
      await writeFile(join(staging, name), content, { mode: name.endsWith(".sh") ? 0o755 : 0o644 });
    }
    const roots = [options.sourceDir, staging].filter((d): d is string => d !== undefined);
    await mkdir(dirname(options.outPath), { recursive: true });
    await rm(options.outPath, { force: true });
    const run = { stage: "iso" as const, signal: options.signal };
    if (await hasTool("xorriso")) {
      // -as mkisofs takes several source directories and merges them at the root.
      await runTool(
        "xorriso",
        [
          "-as",
          "mkisofs",
          "-quiet",
          "-V",
          options.volumeLabel,
          "-J",
          "-r",
          "-o",
          options.outPath,
          ...roots,
        ],
        run,
      );
    } else if (await hasTool("genisoimage")) {
      await runTool(
        "genisoimage",
        ["-quiet", "-V", options.volumeLabel, "-J", "-r", "-o", options.outPath, ...roots],
        run,
      );
    } else {
      throw new HostToolMissingError("xorriso");
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

interface IsoListing {
  volumeLabel: string;
  /** Paths from the disc's root, directories ending in "/", sorted. */
  files: string[];
}

/** Lists an ISO's volume label and files (Rock Ridge names) with xorriso. */
export async function listIso(path: string, signal?: AbortSignal): Promise<IsoListing> {
  const stdout = await runHostTool(
    "xorriso",
    ["-indev", path, "-pvd_info", "-find", "/", "-exec", "lsdl"],
    { signal },
  ).catch((e: unknown) => {
    if (!(e instanceof HostToolError)) throw e;
    throw new ImageInputError(`cannot read ISO ${path}: ${e.tail.split("\n").slice(-3).join(" ")}`);
  });
  const label = /^Volume Id\s*:\s*(.*)$/m.exec(stdout)?.[1]?.trim() ?? "";
  const files: string[] = [];
  for (const line of stdout.split("\n")) {
    // lsdl prints like ls -ld: mode, links, owner, group, size, date, then the quoted path.
    const m = /^([dl-])\S+\s.*'\/(.*)'$/.exec(line);
    if (m?.[2]) files.push(m[1] === "d" ? `${m[2]}/` : m[2]);
  }
  return { volumeLabel: label, files: files.sort() };
}

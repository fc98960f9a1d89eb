import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostToolMissingError, runHostTool } from "@strata/host-tool";
import { quotePowerShell } from "@strata/shell-quote";
import { BuildError } from "./errors.js";

/** Volume label and virtio serial of the throw-away disk that carries a Windows step's secrets. */
export const SECRET_DISK_LABEL = "STRATASEC";
export const SECRET_DISK_SERIAL = "strata-secrets";
/** Where the FAT partition starts on the secrets disk (1 MiB, as Windows aligns partitions). */
export const SECRET_PARTITION_OFFSET = 1 << 20;
/** The most secret bytes one step may carry (the POSIX tmpfs holds as much). */
export const MAX_SECRET_BYTES = 16 << 20;

/** File name on the secrets disk of secret number `index`. */
function secretFileName(index: number): string {
  return `S${index}`;
}

/** Size in KiB of a FAT12 partition with room for `bytes` of files (FAT12 reaches 32 MiB). */
function secretPartitionKiB(bytes: number, files: number): number {
  // Clusters of up to 8 KiB: each file wastes at most one; plus FATs, root directory, slack.
  const need = bytes + files * 8192 + 256 * 1024;
  return Math.max(1024, Math.ceil((need * 1.1) / 1024 / 64) * 64);
}

/**
 * A master boot record with one FAT12 partition (type 0x01) of `partitionBytes` at
 * {@link SECRET_PARTITION_OFFSET}: Windows mounts a partitioned disk, not a bare file system.
 */
export function secretDiskMbr(partitionBytes: number): Buffer {
  const mbr = Buffer.alloc(512);
  const entry = 446;
  mbr[entry] = 0x00; // not bootable
  // CHS fields unused (LBA addressing): the conventional "beyond CHS" values.
  mbr.set([0xfe, 0xff, 0xff], entry + 1);
  mbr[entry + 4] = 0x01;
  mbr.set([0xfe, 0xff, 0xff], entry + 5);
  mbr.writeUInt32LE(SECRET_PARTITION_OFFSET / 512, entry + 8);
  mbr.writeUInt32LE(partitionBytes / 512, entry + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

/** A secrets disk image on the host: remove it (and its directory) with `dispose`. */
interface SecretDisk extends AsyncDisposable {
  readonly path: string;
}

/**
 * Builds a raw disk (MBR + FAT12, label {@link SECRET_DISK_LABEL}) holding each value as
 * `S<index>`, byte for byte (mtools copies bytes unchanged unless told to convert text), in a private temp directory: the
 * values never enter a layer, and the disk is deleted when the step ends.
 */
export async function buildSecretDisk(values: readonly Buffer[]): Promise<SecretDisk> {
  const total = values.reduce((n, v) => n + v.length, 0);
  if (total > MAX_SECRET_BYTES)
    throw new BuildError(
      "SECRET_TOO_LARGE",
      `the step's secrets hold ${total} bytes; at most ${MAX_SECRET_BYTES} fit: pass smaller files`,
    );
  const dir = await mkdtemp(join(tmpdir(), "strata-secrets-"));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const kib = secretPartitionKiB(total, values.length);
    const part = join(dir, "part.img");
    await run("mkfs.vfat", ["-C", "-F", "12", "-n", SECRET_DISK_LABEL, part, String(kib)]);
    for (const [i, v] of values.entries()) {
      const file = join(dir, secretFileName(i));
      await writeFile(file, v, { mode: 0o600 });
      await run("mcopy", ["-i", part, file, `::/${secretFileName(i)}`]);
      await rm(file);
    }
    const path = join(dir, "secrets.img");
    await writeFile(path, secretDiskMbr(kib * 1024), { mode: 0o600 });
    await run("dd", [
      `if=${part}`,
      `of=${path}`,
      "bs=1M",
      `seek=${SECRET_PARTITION_OFFSET >> 20}`,
      "conv=notrunc",
      "status=none",
    ]);
    await rm(part);
    return { path, [Symbol.asyncDispose]: dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

async function run(file: string, args: string[]): Promise<void> {
  try {
    await runHostTool(file, args, { env: { MTOOLS_SKIP_CHECK: "1" } });
  } catch (err) {
    // A missing tool names its package (dosfstools, mtools) itself.
    if (err instanceof HostToolMissingError) throw err;
    throw new BuildError(
      "SECRET_DISK_FAILED",
      `making the secrets disk failed (${file}): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** A PowerShell script as a cmd.exe command line that needs no quoting (`-EncodedCommand`). */
export function encodedPowerShell(script: string): string {
  const encoded = Buffer.from(script, "utf16le").toString("base64");
  return `powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ${encoded}`;
}

const findDisk = [
  "$ErrorActionPreference = 'Stop'",
  `$disk = $null; for ($i = 0; $i -lt 300 -and -not $disk; $i++) { $disk = Get-Disk | Where-Object SerialNumber -eq ${quotePowerShell(SECRET_DISK_SERIAL)}; if (-not $disk) { Start-Sleep -Milliseconds 100 } }`,
  "if (-not $disk) { throw 'strata: the secrets disk did not appear' }",
];

/**
 * Windows: brings the plugged secrets disk online (Windows Server keeps new disks offline),
 * gives its partition a drive letter, and makes each target a symbolic link to its file there.
 * Only the links are on the layer's disk; the values stay on the throw-away disk.
 */
export function windowsInstallScript(targets: readonly string[]): string {
  return [
    ...findDisk,
    "if ($disk.IsOffline) { Set-Disk -Number $disk.Number -IsOffline $false }",
    "$part = Get-Partition -DiskNumber $disk.Number | Select-Object -First 1",
    "if (-not $part.DriveLetter) { $part | Add-PartitionAccessPath -AssignDriveLetter; $part = Get-Partition -DiskNumber $disk.Number | Select-Object -First 1 }",
    "$root = '{0}:\\' -f $part.DriveLetter",
    ...targets.flatMap((target, i) => {
      const t = quotePowerShell(target);
      return [
        `New-Item -ItemType Directory -Force -Path (Split-Path -Parent ${t}) | Out-Null`,
        `New-Item -ItemType SymbolicLink -Force -Path ${t} -Target (Join-Path $root ${quotePowerShell(secretFileName(i))}) | Out-Null`,
      ];
    }),
  ].join("\n");
}

/** Windows: removes the links and takes the secrets disk offline; throws unless both worked. */
export function windowsRemoveScript(targets: readonly string[]): string {
  return [
    ...findDisk,
    ...targets.flatMap((target) => {
      const t = quotePowerShell(target);
      return [
        `if (Test-Path -LiteralPath ${t}) { (Get-Item -LiteralPath ${t} -Force).Delete() }`,
        `if (Test-Path -LiteralPath ${t}) { throw ('strata: could not remove the secret at ' + ${t}) }`,
      ];
    }),
    "Set-Disk -Number $disk.Number -IsOffline $true",
  ].join("\n");
}

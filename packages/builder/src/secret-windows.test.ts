import { readFile, stat } from "node:fs/promises";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import {
  buildSecretDisk,
  encodedPowerShell,
  MAX_SECRET_BYTES,
  SECRET_DISK_LABEL,
  SECRET_PARTITION_OFFSET,
  secretDiskMbr,
  windowsInstallScript,
  windowsRemoveScript,
} from "./secret-windows.js";

const decode = (commandLine: string) =>
  Buffer.from(commandLine.split(" ").at(-1)!, "base64").toString("utf16le");

describe("the Windows secrets disk (real mkfs.vfat and mtools)", () => {
  it("holds every value byte for byte, multi-line, CRLF, NUL and high bytes included", async () => {
    const values = [
      Buffer.from("line one\nline two\r\nline three\n"),
      Buffer.from([0, 255, 13, 10, 0x1a, 0x80, 0x22, 0x27]),
      Buffer.alloc(0),
      Buffer.alloc(70_000, 0x5a),
    ];
    await using disk = await buildSecretDisk(values);
    expect((await stat(disk.path)).mode & 0o777).toBe(0o600);
    const image = await readFile(disk.path);
    // The MBR names one FAT12 partition at 1 MiB covering the rest of the disk.
    expect(image.readUInt16LE(510)).toBe(0xaa55);
    expect(image[446 + 4]).toBe(0x01);
    expect(image.readUInt32LE(446 + 8)).toBe(SECRET_PARTITION_OFFSET / 512);
    expect(image.length).toBe(SECRET_PARTITION_OFFSET + image.readUInt32LE(446 + 12) * 512);
    const fs = `${disk.path}@@${SECRET_PARTITION_OFFSET}`;
    const env = { MTOOLS_SKIP_CHECK: "1" };
    // "::" is mtools' name for the drive given with -i (the image file), not a network address.
    const label = await execa("mlabel", ["-i", fs, "-s", "::"], { env });
    expect(label.stdout).toContain(SECRET_DISK_LABEL);
    for (const [i, v] of values.entries()) {
      const r = await execa("mcopy", ["-i", fs, `::/S${i}`, "-"], {
        env,
        encoding: "buffer",
        stripFinalNewline: false,
      });
      expect(Buffer.from(r.stdout).equals(v)).toBe(true);
    }
  }, 180_000);
  it("is deleted with its directory when disposed", async () => {
    let path = "";
    {
      await using disk = await buildSecretDisk([Buffer.from("x")]);
      path = disk.path;
      await stat(path);
    }
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
  }, 60_000);
  it("refuses more than it may carry, before writing anything", async () => {
    await expect(buildSecretDisk([Buffer.alloc(MAX_SECRET_BYTES + 1)])).rejects.toMatchObject({
      code: "SECRET_TOO_LARGE",
    });
  });
  it("MBR sizes are in sectors", () => {
    const mbr = secretDiskMbr(2 << 20);
    expect(mbr.readUInt32LE(446 + 12)).toBe(4096);
  });
});

describe("Windows secret scripts", () => {
  const targets = ["C:/Users/opam/secret's file", "C:\\token $(x) `y`"];
  it("link each target to its file on the disk, every path single-quoted", () => {
    const script = windowsInstallScript(targets);
    expect(script).toContain(
      "New-Item -ItemType SymbolicLink -Force -Path 'C:/Users/opam/secret''s file' -Target (Join-Path $root 'S0') | Out-Null",
    );
    expect(script).toContain("-Path 'C:\\token $(x) `y`' -Target (Join-Path $root 'S1')");
    expect(script).toContain("Set-Disk -Number $disk.Number -IsOffline $false");
    // No value ever appears in a script: they travel on the disk.
    expect(script).not.toMatch(/Set-Content|Out-File/);
  });
  it("removal deletes the links, checks they are gone and takes the disk offline", () => {
    const script = windowsRemoveScript(targets);
    expect(script).toContain(
      "if (Test-Path -LiteralPath 'C:/Users/opam/secret''s file') { throw ('strata: could not remove the secret at ' + 'C:/Users/opam/secret''s file') }",
    );
    expect(script.trimEnd().split("\n").at(-1)).toBe(
      "Set-Disk -Number $disk.Number -IsOffline $true",
    );
  });
  it("travel as -EncodedCommand, which cmd.exe passes untouched", () => {
    const script = windowsInstallScript(targets);
    const line = encodedPowerShell(script);
    expect(line).toMatch(
      /^powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand [A-Za-z0-9+/=]+$/,
    );
    expect(decode(line)).toBe(script);
  });
});

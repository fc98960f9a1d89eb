import { describe, expect, it } from "vitest";
import { SETUP_CD_LABEL, setupCommand } from "./customise.js";

describe("setupCommand", () => {
  it("mounts the CD by label and runs setup.sh as root, keeping its exit status", () => {
    const cmd = setupCommand("linux");
    expect(cmd).toContain(`mount -o ro /dev/disk/by-label/${SETUP_CD_LABEL}`);
    expect(cmd).toContain("sudo -n sh -c 'cd /run/strata-setup && sh ./setup.sh'; rc=$?");
    expect(cmd.trim().endsWith("exit $rc")).toBe(true);
  });

  it("runs setup.ps1 from the CD's drive on Windows, encoded past cmd.exe's quoting", () => {
    const cmd = setupCommand("windows");
    const encoded = /-EncodedCommand (\S+)$/.exec(cmd)?.[1] ?? "";
    const script = Buffer.from(encoded, "base64").toString("utf16le");
    expect(script).toBe(
      `$d = (Get-Volume -FileSystemLabel '${SETUP_CD_LABEL}').DriveLetter; & "$($d):\\setup.ps1"; exit $LASTEXITCODE`,
    );
  });
});

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listIso } from "./iso.js";
import { UNATTEND_CD_LABEL, writeUnattendIso } from "./windows.js";
import { windowsSetupScript, windowsUnattendXml } from "./windows-unattend.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample strata";

type Node = Record<string, unknown>;
const list = (v: unknown): Node[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]) as Node[];

function parse(xml: string) {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" }).parse(
    xml,
  ) as Node;
  const passes = list((doc.unattend as Node).settings);
  const pass = (name: string) => passes.find((p) => p["@pass"] === name);
  const components = (name: string) => list(pass(name)?.component).map((c) => c["@name"]);
  const component = (passName: string, name: string) =>
    list(pass(passName)?.component).find((c) => c["@name"] === name) as Node;
  return { passes: passes.map((p) => p["@pass"]), components, component };
}

describe("windowsUnattendXml", () => {
  const xml = windowsUnattendXml({ adminUser: "opam", adminPassword: 'p<&>"w' });

  it("is well-formed XML with the three passes Windows Setup needs", () => {
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(parse(xml).passes).toEqual(["windowsPE", "specialize", "oobeSystem"]);
  });

  it("has the components of each pass", () => {
    const { components } = parse(xml);
    expect(components("windowsPE")).toEqual([
      "Microsoft-Windows-International-Core-WinPE",
      "Microsoft-Windows-PnpCustomizationsWinPE",
      "Microsoft-Windows-Setup",
    ]);
    expect(components("specialize")).toContain("Microsoft-Windows-Shell-Setup");
    expect(components("oobeSystem")).toEqual([
      "Microsoft-Windows-International-Core",
      "Microsoft-Windows-Shell-Setup",
    ]);
  });

  it("lays out disk 0, loads virtio storage drivers, creates the admin and runs the SSH script", () => {
    const { component } = parse(xml);
    const setup = component("windowsPE", "Microsoft-Windows-Setup");
    const disk = (setup.DiskConfiguration as Node).Disk as Node;
    expect(disk.DiskID).toBe(0);
    expect(disk.WillWipeDisk).toBe(true);
    expect(list((disk.CreatePartitions as Node).CreatePartition)).toHaveLength(2);
    const paths = list(
      (component("windowsPE", "Microsoft-Windows-PnpCustomizationsWinPE").DriverPaths as Node)
        .PathAndCredentials,
    ).map((p) => p.Path);
    expect(paths).toContain("E:\\viostor\\2k22\\amd64");
    expect(paths).toContain("E:\\NetKVM\\2k22\\amd64");
    const shell = component("oobeSystem", "Microsoft-Windows-Shell-Setup");
    const account = ((shell.UserAccounts as Node).LocalAccounts as Node).LocalAccount as Node;
    expect(account).toMatchObject({ Name: "opam", Group: "Administrators" });
    // Markup in the password is escaped, not structure: it comes back as written.
    expect((account.Password as Node).Value).toBe('p<&>"w');
    const commands = list((shell.FirstLogonCommands as Node).SynchronousCommand).map((c) =>
      String(c.CommandLine),
    );
    expect(commands.some((c) => c.includes("setup-ssh.ps1"))).toBe(true);
  });

  it("the SSH script installs OpenSSH with the key and powers off", () => {
    const script = windowsSetupScript(KEY);
    expect(script).toContain("OpenSSH.Server");
    expect(script).toContain(`'${KEY}'`);
    expect(script.trim().split("\n").at(-1)).toBe("Stop-Computer -Force");
  });
});

describe("writeUnattendIso", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-win-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes an ISO holding the answer file, the script and the key", async () => {
    const iso = join(dir, "unattend.iso");
    await writeUnattendIso({ outPath: iso, publicKey: KEY, adminPassword: "x" });
    const listing = await listIso(iso);
    expect(listing.volumeLabel).toBe(UNATTEND_CD_LABEL);
    expect(listing.files).toEqual(["autounattend.xml", "setup-ssh.ps1", "strata.pub"]);
  });
});

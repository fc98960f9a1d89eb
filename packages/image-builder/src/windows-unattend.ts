import { quotePowerShell } from "@strata/shell-quote";

interface WindowsUnattendOptions {
  /** The administrator account SSH logs into. @default "opam" */
  adminUser?: string;
  /** Its password (needed for auto-logon during setup; SSH uses the key). */
  adminPassword: string;
  /** Image in install.wim to install. @default "Windows Server 2022 SERVERSTANDARD" */
  imageName?: string;
  /** Product key; empty for evaluation media. @default "" */
  productKey?: string;
  /** @default "strata" */
  computerName?: string;
}

/** Drive letters Windows Setup may give the virtio-win CD; WinPE searches each for drivers. */
const DRIVER_LETTERS = ["D", "E", "F", "G"];
/** virtio-win folders: storage (viostor, vioscsi), network (NetKVM), balloon, serial. */
const DRIVER_DIRS = ["viostor", "vioscsi", "NetKVM", "Balloon", "vioserial"];

const esc = (s: string) =>
  s
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");

const component = (name: string, body: string) =>
  `    <component name="${name}" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">\n${body}\n    </component>`;

/** The script the answer file runs at first logon: OpenSSH server, the key, then power off. */
export function windowsSetupScript(publicKey: string): string {
  return `$ErrorActionPreference = "Stop"
Add-WindowsCapability -Online -Name OpenSSH.Server~~~~0.0.1.0
Set-Service -Name sshd -StartupType Automatic
Start-Service sshd
# Administrators' keys live here, not in ~/.ssh (sshd_config's Match Group administrators).
$keys = "$env:ProgramData\\ssh\\administrators_authorized_keys"
Set-Content -Path $keys -Value ${quotePowerShell(publicKey.trim())} -Encoding ascii
icacls.exe $keys /inheritance:r /grant "Administrators:F" /grant "SYSTEM:F"
New-NetFirewallRule -Name sshd -DisplayName "OpenSSH Server" -Enabled True -Direction Inbound -Protocol TCP -Action Allow -LocalPort 22 -ErrorAction SilentlyContinue
Stop-Service sshd
Stop-Computer -Force
`;
}

/**
 * An `autounattend.xml` for an unattended Windows Server install on a virtio disk: WinPE loads
 * the virtio-win drivers, wipes disk 0 (MBR, BIOS boot: a 500 MB system partition and Windows),
 * installs, creates the administrator, logs on once and runs `setup-ssh.ps1` from the answer CD,
 * which installs OpenSSH with the store's key and powers off.
 */
export function windowsUnattendXml(options: WindowsUnattendOptions): string {
  const user = esc(options.adminUser ?? "opam");
  const password = esc(options.adminPassword);
  const imageName = esc(options.imageName ?? "Windows Server 2022 SERVERSTANDARD");
  const paths = DRIVER_LETTERS.flatMap((l) => DRIVER_DIRS.map((d) => `${l}:\\${d}\\2k22\\amd64`));
  const driverPaths = paths
    .map(
      (p, i) =>
        `        <PathAndCredentials wcm:action="add" wcm:keyValue="${i + 1}"><Path>${p}</Path></PathAndCredentials>`,
    )
    .join("\n");
  const runScript = DRIVER_LETTERS.map(
    (l) =>
      `if exist ${l}:\\setup-ssh.ps1 powershell -NoProfile -ExecutionPolicy Bypass -File ${l}:\\setup-ssh.ps1`,
  );
  const logonCommands = runScript
    .map(
      (cmd, i) =>
        `          <SynchronousCommand wcm:action="add"><Order>${i + 1}</Order><CommandLine>cmd /c ${esc(cmd)}</CommandLine></SynchronousCommand>`,
    )
    .join("\n");
  const intl = `      <InputLocale>en-US</InputLocale>\n      <SystemLocale>en-US</SystemLocale>\n      <UILanguage>en-US</UILanguage>\n      <UserLocale>en-US</UserLocale>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="windowsPE">
${component("Microsoft-Windows-International-Core-WinPE", `      <SetupUILanguage><UILanguage>en-US</UILanguage></SetupUILanguage>\n${intl}`)}
${component("Microsoft-Windows-PnpCustomizationsWinPE", `      <DriverPaths>\n${driverPaths}\n      </DriverPaths>`)}
${component(
  "Microsoft-Windows-Setup",
  `      <DiskConfiguration>
        <Disk wcm:action="add">
          <DiskID>0</DiskID>
          <WillWipeDisk>true</WillWipeDisk>
          <CreatePartitions>
            <CreatePartition wcm:action="add"><Order>1</Order><Type>Primary</Type><Size>500</Size></CreatePartition>
            <CreatePartition wcm:action="add"><Order>2</Order><Type>Primary</Type><Extend>true</Extend></CreatePartition>
          </CreatePartitions>
          <ModifyPartitions>
            <ModifyPartition wcm:action="add"><Order>1</Order><PartitionID>1</PartitionID><Format>NTFS</Format><Label>System</Label><Active>true</Active></ModifyPartition>
            <ModifyPartition wcm:action="add"><Order>2</Order><PartitionID>2</PartitionID><Format>NTFS</Format><Label>Windows</Label><Letter>C</Letter></ModifyPartition>
          </ModifyPartitions>
        </Disk>
      </DiskConfiguration>
      <ImageInstall>
        <OSImage>
          <InstallFrom><MetaData wcm:action="add"><Key>/IMAGE/NAME</Key><Value>${imageName}</Value></MetaData></InstallFrom>
          <InstallTo><DiskID>0</DiskID><PartitionID>2</PartitionID></InstallTo>
        </OSImage>
      </ImageInstall>
      <UserData>
        <AcceptEula>true</AcceptEula>
        <ProductKey><Key>${esc(options.productKey ?? "")}</Key><WillShowUI>OnError</WillShowUI></ProductKey>
      </UserData>`,
)}
  </settings>
  <settings pass="specialize">
${component("Microsoft-Windows-Shell-Setup", `      <ComputerName>${esc(options.computerName ?? "strata")}</ComputerName>\n      <TimeZone>UTC</TimeZone>`)}
${component("Microsoft-Windows-TerminalServices-LocalSessionManager", "      <fDenyTSConnections>true</fDenyTSConnections>")}
  </settings>
  <settings pass="oobeSystem">
${component("Microsoft-Windows-International-Core", intl)}
${component(
  "Microsoft-Windows-Shell-Setup",
  `      <OOBE>
        <HideEULAPage>true</HideEULAPage>
        <HideLocalAccountScreen>true</HideLocalAccountScreen>
        <HideOnlineAccountScreens>true</HideOnlineAccountScreens>
        <HideWirelessSetupInOOBE>true</HideWirelessSetupInOOBE>
        <ProtectYourPC>3</ProtectYourPC>
      </OOBE>
      <UserAccounts>
        <AdministratorPassword><Value>${password}</Value><PlainText>true</PlainText></AdministratorPassword>
        <LocalAccounts>
          <LocalAccount wcm:action="add">
            <Name>${user}</Name>
            <Group>Administrators</Group>
            <Password><Value>${password}</Value><PlainText>true</PlainText></Password>
          </LocalAccount>
        </LocalAccounts>
      </UserAccounts>
      <AutoLogon>
        <Enabled>true</Enabled>
        <LogonCount>1</LogonCount>
        <Username>${user}</Username>
        <Password><Value>${password}</Value><PlainText>true</PlainText></Password>
      </AutoLogon>
      <FirstLogonCommands>
${logonCommands}
      </FirstLogonCommands>`,
)}
  </settings>
</unattend>
`;
}

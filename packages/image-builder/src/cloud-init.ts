/** A file cloud-init writes (its `write_files` module). */
export interface CloudInitFile {
  path: string;
  content: string;
  /** Octal mode as a string. @default "0644" */
  permissions?: string;
  /** @default "root:root" */
  owner?: string;
}

export interface CloudInitUser {
  name: string;
  /** OpenSSH public key lines for `~/.ssh/authorized_keys`. */
  publicKeys: readonly string[];
  /** Passwordless sudo. @default true */
  sudo?: boolean;
  /** @default "/bin/bash" */
  shell?: string;
}

export interface CloudConfigOptions {
  users?: readonly CloudInitUser[];
  /** Packages installed on first boot (needs a network: the guest's `network: "host"`). */
  packages?: readonly string[];
  files?: readonly CloudInitFile[];
  /** Shell commands run late in the first boot, each through `sh -c`. */
  runcmd?: readonly string[];
  /** POSTs cloud-init's instance data here when provisioning is done. */
  phoneHomeUrl?: string;
  /** Power off at the end of the first boot. @default true */
  powerOff?: boolean;
  hostname?: string;
}

/**
 * A `#cloud-config` user-data document. JSON is YAML, so this needs no YAML writer and nothing
 * a value contains can break the document's structure.
 */
export function cloudConfig(options: CloudConfigOptions): string {
  const doc: Record<string, unknown> = {};
  if (options.hostname) doc.hostname = options.hostname;
  if (options.users?.length) {
    doc.users = options.users.map((u) => ({
      name: u.name,
      shell: u.shell ?? "/bin/bash",
      ...((u.sudo ?? true) ? { sudo: "ALL=(ALL) NOPASSWD:ALL" } : {}),
      lock_passwd: true,
      ssh_authorized_keys: [...u.publicKeys],
    }));
    doc.ssh_pwauth = false;
  }
  if (options.packages?.length) {
    doc.package_update = true;
    doc.packages = [...options.packages];
  }
  if (options.files?.length)
    doc.write_files = options.files.map((f) => ({
      path: f.path,
      content: f.content,
      permissions: f.permissions ?? "0644",
      owner: f.owner ?? "root:root",
    }));
  if (options.runcmd?.length) doc.runcmd = options.runcmd.map((c) => ["sh", "-c", c]);
  if (options.phoneHomeUrl)
    doc.phone_home = { url: options.phoneHomeUrl, post: ["instance_id", "hostname"], tries: 10 };
  if (options.powerOff ?? true)
    doc.power_state = {
      mode: "poweroff",
      message: "strata: first boot done",
      timeout: 30,
      condition: true,
    };
  return `#cloud-config\n${JSON.stringify(doc, null, 2)}\n`;
}

/** NoCloud `meta-data`: a new instance-id makes cloud-init treat the boot as a first boot. */
export function cloudMetaData(instanceId: string, hostname = "strata"): string {
  return `${JSON.stringify({ "instance-id": instanceId, "local-hostname": hostname }, null, 2)}\n`;
}

/**
 * The kernel command-line word (or SMBIOS serial) that points cloud-init's NoCloud source at an
 * HTTP seed. `nocloud-net`, not `nocloud`: cloud-init 22.4 (Debian 12) gives `ds=nocloud` the
 * dsmode "local", and then drops a seed fetched in the network stage ("[net] Exiting ... in local
 * mode") and falls back to no datasource at all.
 */
export function noCloudUrlCmdline(url: string): string {
  // cloud-init wants the seed URL to end with "/"; it appends user-data, meta-data...
  return `ds=nocloud-net;s=${url.endsWith("/") ? url : `${url}/`}`;
}

/** What cloud-init's phone_home module POSTs: form fields, urlencoded. */
export function parsePhoneHome(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

import { resolve } from "node:path";
import { defineCommand, EXIT_OK, UsageError } from "@strata/cli-kit";
import {
  DEFAULT_INSTALL_TIMEOUT_MS,
  INSTALL_CD_LABEL,
  type InstalledSsh,
  installImage,
  runImage,
} from "@strata/image-builder";
import { GUEST_OSES, type GuestOs } from "@strata/qemu-runner";
import { createProgressRenderer } from "../render-progress.js";
import { baseImageDir, prepareStoreRoot, STORE_OPTION } from "../store-options.js";

/** How an installed or imported image is logged in to (`install`, `import` of taskcluster's). */
export const SSH_OPTIONS = {
  "ssh-user": {
    type: "string",
    value: "USER",
    help: 'the account the installer made for strata to log in (without it the image\nrecords "ssh": false and builds refuse it until its manifest says)',
  },
  "ssh-port": { type: "string", value: "PORT", help: "its SSH port (default 22)" },
  "ssh-key": {
    type: "string",
    value: "FILE",
    help: "the private key the installer authorised (copied beside the image)",
  },
  os: { type: "string", value: "OS", help: `${GUEST_OSES.join(", ")} (default linux)` },
} as const;

/** Reads the SSH and OS flags both `install` and `import --format taskcluster` take. */
export function sshFlags(
  values: { "ssh-user"?: string; "ssh-port"?: string; "ssh-key"?: string; os?: string },
  cwd: string,
): { ssh: InstalledSsh | undefined; os: GuestOs | undefined } {
  const os = values.os;
  if (os !== undefined && !(GUEST_OSES as readonly string[]).includes(os))
    throw new UsageError(`--os ${os}: use one of ${GUEST_OSES.join(", ")}`);
  const port = values["ssh-port"] === undefined ? undefined : Number(values["ssh-port"]);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new UsageError(`--ssh-port ${values["ssh-port"]}: give a TCP port from 1 to 65535`);
  if (!values["ssh-user"] && (port !== undefined || values["ssh-key"]))
    throw new UsageError("--ssh-port and --ssh-key need --ssh-user");
  const ssh = values["ssh-user"]
    ? {
        user: values["ssh-user"],
        port,
        privateKeyPath: values["ssh-key"] ? resolve(cwd, values["ssh-key"]) : undefined,
      }
    : undefined;
  return { ssh, os: os as GuestOs | undefined };
}

export const install = defineCommand({
  name: "install",
  summary: "make a base image by booting a blank disk from an installer ISO",
  synopsis: "NAME --boot ISO --size GIB [OPTIONS]",
  maxArguments: 1,
  arguments: ["NAME"],
  complete: ["none"],
  description: `Creates a blank qcow2 disk of GIB gibibytes, boots it from ISO (first in the boot order) on the
machine --machine describes, and waits until the guest powers off: the disk then becomes base
image NAME, its manifest recording the machine so every later boot sees the same hardware.
Installs done by hand use --vnc; unattended ones an answer file on --cd. On a timeout or a
failure, the serial console's last lines are shown and nothing is kept.`,
  options: {
    ...STORE_OPTION,
    boot: { type: "string", value: "ISO", help: "the installer ISO (required)" },
    size: { type: "string", value: "GIB", help: "size of the new disk in GiB (required)" },
    machine: {
      type: "string",
      value: "FILE",
      help: "machine definition: taskcluster-worker's machine.json (version 1), read as is",
    },
    cd: {
      type: "string",
      value: "DIR",
      help: `a second CD made from DIR (label "${INSTALL_CD_LABEL}"), e.g. an answer file`,
    },
    vnc: { type: "boolean", help: "show the display on VNC at 127.0.0.1 (the address is printed)" },
    timeout: {
      type: "string",
      value: "S",
      help: `give up after S seconds (default ${DEFAULT_INSTALL_TIMEOUT_MS / 1000})`,
    },
    network: { type: "boolean", help: "give the installer the host's network (default: none)" },
    ...SSH_OPTIONS,
    verbose: { type: "boolean", short: "v", help: "print each stage" },
  },
  async run({ values, positionals }, io) {
    const [name] = positionals;
    if (!values.boot) throw new UsageError('option "--boot" is required: the installer ISO');
    if (!values.size) throw new UsageError('option "--size" is required: the disk size in GiB');
    const size = Number(values.size);
    const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeout !== undefined && !(timeout > 0))
      throw new UsageError(`--timeout ${values.timeout}: give a positive number of seconds`);
    const { ssh, os } = sshFlags(values, io.cwd);
    const storeRoot = await prepareStoreRoot(values.store, io);
    const progress = createProgressRenderer(io, values.verbose || values.vnc);
    try {
      const done = await installImage({
        baseImageDir: baseImageDir(storeRoot),
        name: name!,
        bootIso: resolve(io.cwd, values.boot),
        sizeGiB: size,
        machineFile: values.machine ? resolve(io.cwd, values.machine) : undefined,
        cdDir: values.cd ? resolve(io.cwd, values.cd) : undefined,
        vnc: values.vnc,
        timeoutMs: timeout === undefined ? undefined : timeout * 1000,
        network: values.network ? "host" : "restricted",
        os,
        ssh,
        onProgress: progress.onProgress,
        signal: io.signal,
      });
      progress.done();
      io.stdout.write(
        `${done.name}: ${done.image} (installed in ${Math.round(done.installMs / 1000)} s)\n`,
      );
      if (!ssh)
        io.stderr.write(
          `note: ${done.name} has no SSH access yet; builds need "ssh" in ${done.manifestPath}\n`,
        );
    } finally {
      progress.done();
    }
    return EXIT_OK;
  },
});

export const run = defineCommand({
  name: "run",
  summary: "boot a base image for debugging, its serial console on the terminal",
  synopsis: "NAME [OPTIONS]",
  maxArguments: 1,
  arguments: ["NAME"],
  complete: ["image"],
  description: `Boots base image NAME on a throwaway overlay and copies its serial console to standard output
until the guest powers off (Ctrl-C stops it at once). Changes are discarded unless --save names a
new image, which receives them when the guest powers off by itself.`,
  options: {
    ...STORE_OPTION,
    vnc: { type: "boolean", help: "show the display on VNC at 127.0.0.1 (the address is printed)" },
    cd: {
      type: "string",
      value: "DIR",
      help: `attach a CD made from DIR (label "${INSTALL_CD_LABEL}")`,
    },
    save: { type: "string", value: "NEW", help: "keep the changes as base image NEW" },
    network: { type: "boolean", help: "give the guest the host's network (default: none)" },
  },
  async run({ values, positionals }, io) {
    const [name] = positionals;
    const storeRoot = await prepareStoreRoot(values.store, io);
    // The console is bytes: a character split across two reads must come out whole.
    const decoder = new TextDecoder();
    const result = await runImage({
      baseImageDir: baseImageDir(storeRoot),
      name: name!,
      vnc: values.vnc,
      cdDir: values.cd ? resolve(io.cwd, values.cd) : undefined,
      save: values.save,
      network: values.network ? "host" : "restricted",
      onConsole: (chunk) => io.stdout.write(decoder.decode(chunk, { stream: true })),
      onStarted: ({ sshPort, vncPort }) =>
        io.stderr.write(
          `strata-image: ${name} is running; SSH forwarded at 127.0.0.1:${sshPort}${vncPort === undefined ? "" : `, VNC at 127.0.0.1:${vncPort} (vncviewer 127.0.0.1::${vncPort})`}; power the guest off or press Ctrl-C to stop\n`,
        ),
      signal: io.signal,
    });
    if (result.saved) io.stderr.write(`strata-image: saved ${values.save}: ${result.saved}\n`);
    return EXIT_OK;
  },
});

import {
  MACHINE_CHOICES,
  MACHINE_FLAG_PATTERN,
  MACHINE_IGNORED_FIELDS,
  MACHINE_INT_RANGES,
  MACHINE_PATTERNS,
  MAX_VCPUS,
} from "./machine.js";
import {
  BOOT_MODES,
  DEFAULT_CPUS,
  DEFAULT_MEMORY_MIB,
  DEFAULT_SSH_PORT,
  DEFAULT_SSH_USER,
  DISK_INTERFACES,
  FIRMWARES,
  GUEST_ARCHES,
  GUEST_OSES,
  HOST_KEY_LINE,
  IMAGE_NAME_PATTERN,
  MAX_CPUS,
  MAX_PORT,
} from "./manifest.js";

/** A JSON Schema (draft 2020-12) node, as plain JSON. */
export type JsonSchema = { readonly [key: string]: unknown };

const positiveInt = (max: number, description: string, extra: JsonSchema = {}): JsonSchema => ({
  type: "integer",
  minimum: 1,
  maximum: max,
  description,
  ...extra,
});
const path = (description: string): JsonSchema => ({ type: "string", minLength: 1, description });

/** `ssh.hostKey` is checked after trimming: the schema allows the white space around it. */
const hostKeyPattern = `^\\s*${HOST_KEY_LINE.source.slice(1, -1)}\\s*$`;

function machineSchema(): JsonSchema {
  const properties: Record<string, JsonSchema> = {
    version: { const: 1, description: "format version; 1 is the only one" },
  };
  for (const [key, pattern] of Object.entries(MACHINE_PATTERNS)) {
    properties[key] = { type: "string", pattern: pattern.source };
  }
  for (const [key, choices] of Object.entries(MACHINE_CHOICES)) {
    properties[key] = { enum: [...choices] };
  }
  for (const [key, [min, max]] of Object.entries(MACHINE_INT_RANGES)) {
    properties[key] = { type: "integer", minimum: min, maximum: max };
  }
  properties.flags = {
    type: "array",
    items: { type: "string", pattern: MACHINE_FLAG_PATTERN.source },
    description: "CPU feature flags, +flag or -flag (a bare name means +)",
  };
  // taskcluster's README form: {"network": {"device", "mac"}}, {"keyboard": {"layout"}}.
  properties.network = {
    anyOf: [
      properties.network!,
      {
        type: "object",
        properties: { device: properties.network!, mac: properties.mac! },
      },
    ],
  };
  properties.keyboard = {
    anyOf: [
      properties.keyboard!,
      { type: "object", properties: { layout: properties.keyboardLayout! } },
    ],
  };
  for (const key of MACHINE_IGNORED_FIELDS) {
    properties[key] = { description: "taskcluster's; accepted and not used" };
  }
  return {
    type: "object",
    description: `the virtual hardware the image was installed on (taskcluster-worker's machine.json, version 1); threads x cores x sockets must not pass ${MAX_VCPUS}`,
    properties,
    additionalProperties: false,
  };
}

/**
 * The JSON Schema of a base image's manifest (`<name>.json` beside `<name>.qcow2`), made from
 * the same tables and patterns {@link parseImageManifest} checks against; docs/image-manifest.md
 * describes each field and a test keeps docs/image-manifest.schema.json equal to this.
 * What a schema cannot say, the validator still checks: a file path is resolved against the
 * manifest's directory, and `threads x cores x sockets` is at most QEMU's limit.
 */
export function imageManifestJsonSchema(): JsonSchema {
  const kernelOnly = ["kernel", "initrd", "cmdline"];
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "strata base image manifest",
    description:
      "<name>.json beside <name>.qcow2 in a store's base-image directory: how to boot the image and log in. Fields not listed here are kept and not checked (image builders record their recipe).",
    type: "object",
    required: ["name"],
    properties: {
      name: {
        type: "string",
        pattern: IMAGE_NAME_PATTERN.source,
        description: "the image's name, as (from NAME) names it",
      },
      os: { enum: [...GUEST_OSES], default: "linux", description: "the guest's OS family" },
      arch: { enum: [...GUEST_ARCHES], default: "x86_64", description: "the guest's CPU" },
      firmware: { enum: [...FIRMWARES], default: "bios" },
      boot: {
        type: "object",
        properties: {
          mode: { enum: [...BOOT_MODES], default: "disk" },
          kernel: path("kernel image, relative to the manifest's directory or absolute"),
          initrd: path("initial ramdisk, relative to the manifest's directory or absolute"),
          cmdline: { type: "string", default: "", description: "kernel command line" },
        },
        // kernel, initrd and cmdline only (and kernel always) with "mode": "kernel".
        anyOf: [
          { properties: { mode: { const: "kernel" } }, required: ["mode", "kernel"] },
          {
            properties: { mode: { const: "disk" } },
            not: { anyOf: kernelOnly.map((key) => ({ required: [key] })) },
          },
        ],
      },
      disk: {
        type: "object",
        properties: { interface: { enum: [...DISK_INTERFACES], default: "virtio" } },
      },
      ssh: {
        description: "how strata logs in; false: the image has no SSH access yet",
        anyOf: [
          { const: false },
          {
            type: "object",
            properties: {
              user: { type: "string", minLength: 1, default: DEFAULT_SSH_USER },
              port: positiveInt(MAX_PORT, "the guest's SSH port", { default: DEFAULT_SSH_PORT }),
              privateKey: path("private key file, relative to the manifest's directory"),
              hostKey: {
                type: "string",
                pattern: hostKeyPattern,
                description:
                  "the guest's SSH host public key (an OpenSSH line); another is refused",
              },
            },
          },
        ],
      },
      shell: {
        type: "array",
        minItems: 1,
        items: { type: "string" },
        description:
          "argv a run command is appended to; default by os: linux /bin/bash -c, windows cmd /S /C, others /bin/sh -c",
      },
      memoryMiB: positiveInt(Number.MAX_SAFE_INTEGER, "guest memory in MiB", {
        default: DEFAULT_MEMORY_MIB,
      }),
      cpus: positiveInt(MAX_CPUS, "virtual CPUs", { default: DEFAULT_CPUS }),
      machine: machineSchema(),
    },
  };
}

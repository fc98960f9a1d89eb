import { readFileSync } from "node:fs";
import { join } from "node:path";
import { imageManifestJsonSchema, parseImageManifest } from "@strata/qemu-runner";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { formatWithBiome } from "./generated-blocks.js";
import { REPO_ROOT } from "./markdown.js";

const SCHEMA_FILE = join(REPO_ROOT, "docs/image-manifest.schema.json");
const DOC = join(REPO_ROOT, "docs/image-manifest.md");
/** A manifest as `strata-image build debian-bookworm` wrote it (recipe and time included). */
const real = JSON.parse(
  readFileSync(join(REPO_ROOT, "test/fixtures/image-manifest/debian-bookworm.json"), "utf8"),
) as Record<string, unknown>;
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0vYq3vq7d1x2V0bZ1kq3Yx6cHn7m5aXlq8o0gA2Q0k";

const schema = imageManifestJsonSchema();
const validate = new Ajv2020({ strict: true, strictRequired: false, allErrors: true }).compile(
  schema,
);
const validatorAccepts = (manifest: unknown) =>
  parseImageManifest(manifest, { dir: "/store/base-image" }).ok;

/** Manifests the validator refuses, each with what is wrong. */
const broken: [string, unknown][] = [
  ["not an object", ["debian"]],
  ["no name", { os: "linux" }],
  ["a name with a space", { ...real, name: "bad name" }],
  ["an unknown os", { ...real, os: "plan9" }],
  ["an unknown arch", { ...real, arch: "mips" }],
  ["an unknown firmware", { ...real, firmware: "coreboot" }],
  ["kernel boot without a kernel", { ...real, boot: { mode: "kernel", cmdline: "quiet" } }],
  ["a kernel without kernel mode", { ...real, boot: { kernel: "vmlinuz" } }],
  ["an empty kernel path", { ...real, boot: { mode: "kernel", kernel: "" } }],
  [
    "a cmdline that is not a string",
    { ...real, boot: { mode: "kernel", kernel: "k", cmdline: 1 } },
  ],
  ["an unknown disk interface", { ...real, disk: { interface: "floppy" } }],
  ["ssh: true", { ...real, ssh: true }],
  ["an empty ssh user", { ...real, ssh: { user: "" } }],
  ["port 0", { ...real, ssh: { port: 0 } }],
  ["port 65536", { ...real, ssh: { port: 65536 } }],
  ["a fractional port", { ...real, ssh: { port: 22.5 } }],
  ["a host key that is not a key line", { ...real, ssh: { hostKey: "AAAA; rm -rf /" } }],
  ["an empty shell", { ...real, shell: [] }],
  ["a shell that is a string", { ...real, shell: "/bin/sh -c" }],
  ["zero memory", { ...real, memoryMiB: 0 }],
  ["513 CPUs", { ...real, cpus: 513 }],
  ["machine version 2", { ...real, machine: { version: 2 } }],
  ["an unknown machine field", { ...real, machine: { turbo: true } }],
  ["a global MAC", { ...real, machine: { mac: "00:11:22:33:44:55" } }],
  ["an unknown network card", { ...real, machine: { network: "ne2000" } }],
  ["a nested network card unknown", { ...real, machine: { network: { device: "ne2000" } } }],
  ["64 MiB of machine memory", { ...real, machine: { memory: 64 } }],
  ["a bad CPU flag", { ...real, machine: { flags: ["+AVX 2"] } }],
];

/** Manifests both accept beyond the real one. */
const valid: [string, unknown][] = [
  ["the real manifest", real],
  ["only a name", { name: "win-2022", os: "windows" }],
  ["ssh: false (no SSH access yet)", { ...real, ssh: false }],
  ["a recorded host key", { ...real, ssh: { hostKey: `${HOST_KEY} root@debian\n` } }],
  ["disk boot", { ...real, boot: { mode: "disk" } }],
  [
    "taskcluster's machine definition, flat and nested forms",
    {
      ...real,
      machine: {
        version: 1,
        uuid: "52bab607-10f1-4049-a0f8-ee4725cb715b",
        chipset: "pc-i440fx-2.8",
        cpu: "host",
        flags: ["+avx2", "x2apic"],
        threads: 1,
        cores: 2,
        sockets: 1,
        memory: 4096,
        network: { device: "e1000", mac: "aa:54:1a:30:5c:de" },
        keyboard: { layout: "en-us" },
        graphics: "VGA",
        graphicsRam: 16,
      },
    },
  ],
];

describe("docs/image-manifest.schema.json", () => {
  // Stale after a change to the manifest checks: run `pnpm docs` and commit the result.
  it("is what imageManifestJsonSchema() makes now (else: pnpm docs)", async () => {
    const text = formatWithBiome(
      `${JSON.stringify(schema, null, 2)}\n`,
      "docs/image-manifest.schema.json",
    );
    await expect(text).toMatchFileSnapshot(SCHEMA_FILE);
  });

  it.each(valid)("accepts %s, as the validator does", (_what, manifest) => {
    expect(validatorAccepts(manifest)).toBe(true);
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each(broken)("refuses %s, as the validator does", (_what, manifest) => {
    expect(validatorAccepts(manifest)).toBe(false);
    expect(validate(manifest)).toBe(false);
  });
});

describe("docs/image-manifest.md", () => {
  const doc = readFileSync(DOC, "utf8");

  /** Every property path of the schema: `boot.kernel`, `machine.flags`... */
  function listPaths(node: Record<string, unknown>, prefix = ""): string[] {
    const properties = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
    const anyOf = (node.anyOf ?? []) as Record<string, unknown>[];
    const nested = anyOf.flatMap((branch) => (branch.properties ? listPaths(branch, prefix) : []));
    return [
      ...Object.entries(properties).flatMap(([key, child]) => [
        `${prefix}${key}`,
        ...listPaths(child, `${prefix}${key}.`),
      ]),
      ...nested,
    ];
  }

  it.each([...new Set(listPaths(schema))])("describes `%s`", (path) => {
    expect(doc).toContain(`\`${path}\``);
  });
});

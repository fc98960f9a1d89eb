import { resolve } from "node:path";
import { defineCommand, EXIT_OK, UsageError } from "@strata/cli-kit";
import {
  exportImage,
  exportTaskclusterImage,
  importImage,
  importTaskclusterImage,
  isTaskclusterArchive,
} from "@strata/image-builder";
import { createProgressRenderer } from "../render-progress.js";
import { baseImageDir, prepareStoreRoot, STORE_OPTION } from "../store-options.js";
import { SSH_OPTIONS, sshFlags } from "./install.js";

const FORMATS = ["strata", "taskcluster"] as const;

function archiveFormat(value: string | undefined): (typeof FORMATS)[number] | undefined {
  if (value === undefined) return undefined;
  if ((FORMATS as readonly string[]).includes(value)) return value as (typeof FORMATS)[number];
  throw new UsageError(`--format ${value}: use strata or taskcluster`);
}

export const exportCommand = defineCommand({
  name: "export",
  summary: "write a base image to one .tar.zst archive",
  synopsis: "NAME FILE.tar.zst [OPTIONS]",
  maxArguments: 2,
  arguments: ["NAME", "FILE"],
  complete: ["image", "file"],
  description: `The archive holds SHA256SUMS, a standalone NAME.qcow2, NAME.json and the files it names
(kernel, initrd, SSH key). With --format taskcluster it is taskcluster-worker's image format
instead: disk.img (raw, sparse), layer.qcow2 and machine.json, in a .tar.zst or .tar.lz4.`,
  options: {
    ...STORE_OPTION,
    format: { type: "string", value: "FORMAT", help: "strata (default) or taskcluster" },
  },
  async run({ values, positionals }, io) {
    const [name, file] = positionals;
    const format = archiveFormat(values.format);
    const storeRoot = await prepareStoreRoot(values.store, io);
    const progress = createProgressRenderer(io);
    const options = {
      baseImageDir: baseImageDir(storeRoot),
      name: name!,
      outPath: resolve(io.cwd, file!),
      onProgress: progress.onProgress,
      signal: io.signal,
    };
    try {
      if (format === "taskcluster") {
        await exportTaskclusterImage(options);
        progress.done();
        io.stdout.write(`${options.outPath}: disk.img, layer.qcow2, machine.json\n`);
        return EXIT_OK;
      }
      const out = await exportImage(options);
      progress.done();
      io.stdout.write(`${out.path}: ${out.files.join(", ")}\n`);
    } finally {
      progress.done();
    }
    return EXIT_OK;
  },
});

export const importCommand = defineCommand({
  name: "import",
  summary: "add a base image from an archive made by export (or by taskcluster-worker)",
  synopsis: "FILE [OPTIONS]",
  maxArguments: 1,
  arguments: ["FILE"],
  complete: ["file"],
  description: `Checks every entry against SHA256SUMS and refuses links, paths leaving the archive, oversized
entries and qcow2 files with a backing file, before anything reaches the store.
taskcluster-worker images (disk.img, layer.qcow2, machine.json in a .tar.zst or .tar.lz4) are
recognised by their contents and need --name; they are checked the same way (only those three
plain files, a layer backed by disk.img alone, no data file, a valid machine.json) and keep their
machine definition. The --ssh-* and --os flags apply to them.`,
  options: {
    ...STORE_OPTION,
    name: { type: "string", value: "NAME", help: "import under this name" },
    format: {
      type: "string",
      value: "FORMAT",
      help: "strata or taskcluster (default: recognised from the archive)",
    },
    ...SSH_OPTIONS,
  },
  async run({ values, positionals }, io) {
    const [file] = positionals;
    const archive = resolve(io.cwd, file!);
    const storeRoot = await prepareStoreRoot(values.store, io);
    const format =
      archiveFormat(values.format) ??
      ((await isTaskclusterArchive(archive).catch(() => false)) ? "taskcluster" : "strata");
    if (format === "taskcluster") {
      if (!values.name)
        throw new UsageError("a taskcluster image has no name of its own: give --name=NAME");
      const { ssh, os } = sshFlags(values, io.cwd);
      const tc = await importTaskclusterImage({
        archive,
        baseImageDir: baseImageDir(storeRoot),
        name: values.name,
        ssh,
        os,
        signal: io.signal,
      });
      io.stdout.write(`${tc.name}: ${tc.image}\n`);
      return EXIT_OK;
    }
    const got = await importImage({
      archive,
      baseImageDir: baseImageDir(storeRoot),
      name: values.name,
      signal: io.signal,
    });
    io.stdout.write(`${got.name}: ${got.image}\n`);
    return EXIT_OK;
  },
});

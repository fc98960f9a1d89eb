import { resolve } from "node:path";
import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { exportImage, importImage } from "@strata/image-builder";
import { requirePositionals } from "../command.js";
import { createProgressRenderer } from "../render-progress.js";
import { baseImageDir, resolveStoreRoot, STORE_OPTION } from "../store-options.js";

export const exportCommand = defineCommand({
  name: "export",
  summary: "write a base image to one .tar.zst archive",
  synopsis: "NAME FILE.tar.zst [OPTIONS]",
  description: `The archive holds SHA256SUMS, a standalone NAME.qcow2, NAME.json and the files it names
(kernel, initrd, SSH key).`,
  options: STORE_OPTION,
  async run({ values, positionals }, io) {
    const [name, file] = requirePositionals(positionals, ["NAME", "FILE"], "export");
    const storeRoot = resolveStoreRoot(values.store, io.cwd, io.env);
    const progress = createProgressRenderer(io);
    try {
      const out = await exportImage({
        baseImageDir: baseImageDir(storeRoot),
        name: name!,
        outPath: resolve(io.cwd, file!),
        onProgress: progress.onProgress,
        signal: io.signal,
      });
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
  summary: "add a base image from an archive made by export",
  synopsis: "FILE.tar.zst [OPTIONS]",
  description: `Checks every entry against SHA256SUMS and refuses links, paths leaving the archive, oversized
entries and qcow2 files with a backing file, before anything reaches the store.`,
  options: {
    ...STORE_OPTION,
    name: { type: "string", value: "NAME", help: "import under this name" },
  },
  async run({ values, positionals }, io) {
    const [file] = requirePositionals(positionals, ["FILE"], "import");
    const storeRoot = resolveStoreRoot(values.store, io.cwd, io.env);
    const got = await importImage({
      archive: resolve(io.cwd, file!),
      baseImageDir: baseImageDir(storeRoot),
      name: values.name,
      signal: io.signal,
    });
    io.stdout.write(`${got.name}: ${got.image}\n`);
    return EXIT_OK;
  },
});

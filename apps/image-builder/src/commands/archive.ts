import { resolve } from "node:path";
import { exportImage, importImage } from "@strata/image-builder";
import { type Command, parseCommandArgs, requirePositionals } from "../command.js";
import { EXIT_OK } from "../exit-codes.js";
import { createProgressRenderer } from "../render-progress.js";
import { baseImageDir, resolveStoreRoot, STORE_OPTION, STORE_USAGE } from "../store-options.js";

export const exportCommand: Command = {
  name: "export",
  summary: "write a base image to one .tar.zst archive",
  usage: `usage: strata-image export NAME FILE.tar.zst [OPTIONS]

The archive holds SHA256SUMS, a standalone NAME.qcow2, NAME.json and the files it names
(kernel, initrd, SSH key).

options:
${STORE_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("export", argv, STORE_OPTION);
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
};

export const importCommand: Command = {
  name: "import",
  summary: "add a base image from an archive made by export",
  usage: `usage: strata-image import FILE.tar.zst [OPTIONS]

Checks every entry against SHA256SUMS and refuses links, paths leaving the archive, oversized
entries and qcow2 files with a backing file, before anything reaches the store.

options:
${STORE_USAGE}  --name=NAME       import under this name
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("import", argv, {
      ...STORE_OPTION,
      name: { type: "string" },
    });
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
};

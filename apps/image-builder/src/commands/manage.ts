import { defineCommand, EXIT_OK, UsageError } from "@strata/cli-kit";
import {
  describeBrokenUsers,
  inspectBaseImage,
  listBaseImages,
  removeBaseImage,
} from "@strata/image-builder";
import { baseImageDir, formatBytes, prepareStoreRoot, STORE_OPTION } from "../store-options.js";

export const list = defineCommand({
  name: "ls",
  aliases: ["list"],
  summary: "list the store's base images",
  synopsis: "[--store=qemu:DIR] [--json | -q]",
  maxArguments: 0,
  options: {
    ...STORE_OPTION,
    json: { type: "boolean", help: "one JSON object per line, for machines" },
    quiet: { type: "boolean", short: "q", help: "print only the image names" },
  },
  async run({ values }, io) {
    if (values.json && values.quiet)
      throw new UsageError('options "--json" and "-q" cannot be used together');
    const images = await listBaseImages(baseImageDir(await prepareStoreRoot(values.store, io)));
    if (values.json || values.quiet) {
      for (const image of images)
        io.stdout.write(values.json ? `${JSON.stringify(image)}\n` : `${image.name}\n`);
      return EXIT_OK;
    }
    if (images.length === 0) {
      io.stderr.write('no base images; build one with "strata-image build debian-bookworm"\n');
      return EXIT_OK;
    }
    const width = Math.max(4, ...images.map((i) => i.name.length));
    io.stdout.write(
      `${"NAME".padEnd(width)}  ${"OS".padEnd(7)}  ${"BOOT".padEnd(6)}  ${"ON DISK".padStart(10)}  CREATED\n`,
    );
    for (const i of images)
      io.stdout.write(
        `${i.name.padEnd(width)}  ${i.os.padEnd(7)}  ${i.bootMode.padEnd(6)}  ${formatBytes(i.diskBytes).padStart(10)}  ${i.created ?? (i.hasManifest ? "-" : "(no manifest)")}\n`,
      );
    return EXIT_OK;
  },
});

export const inspect = defineCommand({
  name: "inspect",
  summary: "show a base image's files and manifest",
  synopsis: "NAME [OPTIONS]",
  maxArguments: 1,
  arguments: ["NAME"],
  complete: ["image"],
  options: {
    ...STORE_OPTION,
    json: { type: "boolean", help: "one JSON object" },
  },
  async run({ values, positionals }, io) {
    const [name] = positionals;
    const d = await inspectBaseImage(baseImageDir(await prepareStoreRoot(values.store, io)), name!);
    if (values.json) {
      io.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
      return EXIT_OK;
    }
    io.stdout.write(
      `name:          ${d.name}\nvirtual size:  ${formatBytes(d.virtualBytes)}\nbacking file:  ${d.backingFile ?? "(none, standalone)"}\nfiles:\n`,
    );
    for (const f of d.files)
      io.stdout.write(`  ${f.name.padEnd(32)} ${formatBytes(f.bytes).padStart(10)}\n`);
    io.stdout.write(
      `manifest:\n${d.manifest ? JSON.stringify(d.manifest, null, 2) : "  (none: OBuilder's defaults apply)"}\n`,
    );
    return EXIT_OK;
  },
});

export const rm = defineCommand({
  name: "rm",
  aliases: ["delete"],
  summary: "remove a base image and its files",
  synopsis: "NAME [OPTIONS]",
  maxArguments: 1,
  arguments: ["NAME"],
  complete: ["image"],
  description: `Refuses while cached layers are built on the image, unless --force.`,
  options: {
    ...STORE_OPTION,
    force: { type: "boolean", help: "remove even if layers use it (they become unusable)" },
  },
  async run({ values, positionals }, io) {
    const [name] = positionals;
    const storeRoot = await prepareStoreRoot(values.store, io);
    const { files, broken } = await removeBaseImage(baseImageDir(storeRoot), name!, {
      storeRoot,
      force: values.force ?? false,
    });
    io.stdout.write(`removed ${files.join(", ")}\n`);
    // --force: say what it broke, so nobody wonders why those builds fail from now on.
    for (const line of describeBrokenUsers(name!, broken))
      io.stderr.write(`strata-image: ${line}\n`);
    return EXIT_OK;
  },
});

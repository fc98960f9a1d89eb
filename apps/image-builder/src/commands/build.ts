import {
  defineCommand,
  EXIT_OK,
  PROGRESS_OPTIONS,
  resolveProgress,
  UsageError,
} from "@strata/cli-kit";
import {
  buildRecipe,
  describeBrokenUsers,
  findBaseImageUsers,
  RECIPES,
} from "@strata/image-builder";
import { createProgressRenderer } from "../render-progress.js";
import { prepareStoreRoot, STORE_OPTION } from "../store-options.js";

export const build = defineCommand({
  name: "build",
  summary: "build a base image from a recipe into the store",
  synopsis: "RECIPE [OPTIONS]",
  maxArguments: 1,
  arguments: ["RECIPE"],
  complete: ["none"],
  description: `Recipes (see images/RECIPE/README.md): ${RECIPES.join(", ")}.
Writes <store>/base-image/NAME.{qcow2,json} (plus .vmlinuz/.initrd for kernel-boot images) and
NAME.key, a copy of the store's SSH key, which the image authorises for its user.`,
  options: {
    ...STORE_OPTION,
    name: { type: "string", value: "NAME", help: "image name (default: the recipe's)" },
    package: {
      type: "string",
      multiple: true,
      value: "PKG",
      help: "an extra package (repeatable; not for Windows)",
    },
    iso: {
      type: "string",
      value: "PATH",
      help: "windows-server-2022: the Windows Server 2022 install ISO",
    },
    "virtio-iso": {
      type: "string",
      value: "PATH",
      help: "windows-server-2022: the virtio-win driver ISO",
    },
    "base-url": {
      type: "string",
      value: "URL",
      help: "ubuntu-noble: mirror holding SHA256SUMS and the cloud image",
    },
    force: {
      type: "boolean",
      help: "rebuild an image that exists: the old one is used until the new one\nis complete, then replaced (layers built on it can no longer be used)",
    },
    ...PROGRESS_OPTIONS,
    verbose: { type: "boolean", short: "v", help: "print every line of the tools' output" },
  },
  async run({ values, positionals }, io) {
    const [recipe] = positionals;
    if (!(RECIPES as readonly string[]).includes(recipe!))
      throw new UsageError(`unknown recipe "${recipe}"; recipes: ${RECIPES.join(", ")}`);
    const mode = resolveProgress(values, io);
    const storeRoot = await prepareStoreRoot(values.store, io);
    const progress = createProgressRenderer(io, values.verbose, mode);
    const started = Date.now();
    try {
      const built = await buildRecipe({
        recipe: recipe!,
        storeRoot,
        name: values.name,
        packages: values.package ?? [],
        iso: values.iso,
        virtioIso: values["virtio-iso"],
        baseUrl: values["base-url"],
        replace: values.force ?? false,
        onProgress: progress.onProgress,
        signal: io.signal,
      });
      progress.done();
      if (values.force) {
        // The old image's layers are chained to files that just changed under them: say so.
        const broken = await findBaseImageUsers(storeRoot, built.name);
        for (const line of describeBrokenUsers(built.name, broken))
          io.stderr.write(`strata-image: ${line}\n`);
      }
      const seconds = Math.round((Date.now() - started) / 1000);
      io.stdout.write(
        mode === "json"
          ? `${JSON.stringify({ type: "done", name: built.name, image: built.image, seconds })}\n`
          : mode === "quiet"
            ? `${built.name}\n`
            : `${built.name}: ${built.image} (${seconds} s)\n`,
      );
    } finally {
      progress.done();
    }
    return EXIT_OK;
  },
});

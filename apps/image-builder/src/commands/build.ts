import { buildRecipe, RECIPES } from "@strata/image-builder";
import { type Command, parseCommandArgs, requirePositionals } from "../command.js";
import { UsageError } from "../errors.js";
import { EXIT_OK } from "../exit-codes.js";
import { createProgressRenderer } from "../render-progress.js";
import { resolveStoreRoot, STORE_OPTION, STORE_USAGE } from "../store-options.js";

const OPTIONS = {
  ...STORE_OPTION,
  name: { type: "string" },
  package: { type: "string", multiple: true },
  iso: { type: "string" },
  "virtio-iso": { type: "string" },
  "base-url": { type: "string" },
  verbose: { type: "boolean", short: "v" },
} as const;

export const build: Command = {
  name: "build",
  summary: "build a base image from a recipe into the store",
  usage: `usage: strata-image build RECIPE [OPTIONS]

Recipes (see images/RECIPE/README.md): ${RECIPES.join(", ")}.
Writes <store>/base-image/NAME.{qcow2,json} (plus .vmlinuz/.initrd for kernel-boot images) and
NAME.key, a copy of the store's SSH key, which the image authorises for its user.

options:
${STORE_USAGE}  --name=NAME       image name (default: the recipe's)
  --package=PKG     an extra package (repeatable; not for Windows)
  --iso=PATH        windows-server-2022: the Windows Server 2022 install ISO
  --virtio-iso=PATH windows-server-2022: the virtio-win driver ISO
  --base-url=URL    ubuntu-noble: mirror holding SHA256SUMS and the cloud image
  -v, --verbose     print every line of the tools' output
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("build", argv, OPTIONS);
    const [recipe] = requirePositionals(positionals, ["RECIPE"], "build");
    if (!(RECIPES as readonly string[]).includes(recipe!))
      throw new UsageError(`unknown recipe "${recipe}"; recipes: ${RECIPES.join(", ")}`);
    const storeRoot = resolveStoreRoot(values.store, io.cwd, io.env);
    const progress = createProgressRenderer(io, values.verbose);
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
        onProgress: progress.onProgress,
        signal: io.signal,
      });
      progress.done();
      io.stdout.write(
        `${built.name}: ${built.image} (${Math.round((Date.now() - started) / 1000)} s)\n`,
      );
    } finally {
      progress.done();
    }
    return EXIT_OK;
  },
};

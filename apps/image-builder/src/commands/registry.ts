import { resolve } from "node:path";
import {
  createTransferRenderer,
  defineCommand,
  EXIT_OK,
  openRegistry,
  REGISTRY_OPTIONS,
  UsageError,
} from "@strata/cli-kit";
import { pullBaseImage, pushBaseImage } from "@strata/image-builder";
import { storeLayout } from "@strata/store/layout";
import { resolveStoreRoot, STORE_OPTION } from "../store-options.js";

export const pushCommand = defineCommand({
  name: "push",
  summary: "push a base image to an OCI registry",
  synopsis: "NAME HOST[:PORT]/REPO[:TAG] [OPTIONS]",
  maxArguments: 2,
  arguments: ["NAME", "REF"],
  complete: ["image", "none"],
  description: `Pushes base image NAME (disk, kernel, initrd and manifest) as one OCI artifact, tagged NAME
unless REF gives a tag. The private SSH key never leaves the store. See docs/registry.md.`,
  options: { ...REGISTRY_OPTIONS, ...STORE_OPTION },
  async run({ values, positionals }, io) {
    const [name, ref] = positionals;
    const { client, reference } = openRegistry(ref!, { insecure: values["insecure-registry"] });
    if (reference.digest) throw new UsageError(`"${ref}": push to a tag, not a digest`);
    const root = resolveStoreRoot(values.store, io.cwd, io.env);
    const digest = await pushBaseImage({
      client,
      repository: reference.repository,
      ...(reference.tag ? { tag: reference.tag } : {}),
      baseImageDir: storeLayout(root).baseImageDir,
      name: name!,
      signal: io.signal,
      onEvent: createTransferRenderer(io, "push"),
    });
    io.stdout.write(
      `${reference.registry}/${reference.repository}:${reference.tag ?? name}@${digest}\n`,
    );
    return EXIT_OK;
  },
});

export const pullCommand = defineCommand({
  name: "pull",
  summary: "pull a base image from an OCI registry",
  synopsis: "HOST[:PORT]/REPO[:TAG] NAME [OPTIONS]",
  maxArguments: 2,
  arguments: ["REF", "NAME"],
  complete: ["none", "image"],
  description: `Pulls a base image pushed by "strata-image push" (TAG defaults to NAME) and installs it as
NAME. Every blob is verified; a qcow2 naming a backing or data file is refused; the image
appears only when whole, and a killed pull resumes. Images travel without their SSH key:
give the key the image accepts with --ssh-key.`,
  options: {
    "ssh-key": {
      type: "string",
      value: "PATH",
      help: "the private key the image's guest accepts (copied beside it, 0600)",
    },
    ...REGISTRY_OPTIONS,
    ...STORE_OPTION,
  },
  async run({ values, positionals }, io) {
    const [ref, name] = positionals;
    const { client, reference } = openRegistry(ref!, { insecure: values["insecure-registry"] });
    const root = resolveStoreRoot(values.store, io.cwd, io.env);
    const layout = storeLayout(root);
    // The store's database is opened only to keep `strata clean` off download/ meanwhile.
    const { openStore } = await import("@strata/store");
    await using store = await openStore({ root, signal: io.signal });
    using _downloads = store.holdDownloads();
    const pulled = await pullBaseImage({
      client,
      repository: reference.repository,
      tag: reference.digest ?? reference.tag ?? name!,
      baseImageDir: layout.baseImageDir,
      downloadDir: layout.downloadDir,
      name: name!,
      ...(values["ssh-key"] ? { sshKey: resolve(io.cwd, values["ssh-key"]) } : {}),
      signal: io.signal,
      onEvent: createTransferRenderer(io, "pull"),
    });
    io.stdout.write(`${pulled.name}: ${pulled.image}\n`);
    if (pulled.needsKey) {
      io.stderr.write(
        `strata-image: ${pulled.name} came without an SSH key (keys never travel); builds that boot it need the key its guest accepts: pull again with --ssh-key PATH, or copy the key beside the image and name it in ${pulled.name}.json as ssh.privateKey\n`,
      );
    }
    return EXIT_OK;
  },
});

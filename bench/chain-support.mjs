// Shared by bench/registry*.mjs: a chain of layers in a real store, each a qcow2 overlay holding
// `layerMiB` of random bytes at its own offset (no VM: qemu-io writes into the overlay).
import { execFileSync } from "node:child_process";
import { join } from "node:path";

/** Builds `layers` layers on debian-bookworm in `store` (scratch files in `work`); their IDs, base first. */
export async function buildRandomChain(store, work, layers, layerMiB) {
  const bytes = layerMiB * 2 ** 20;
  const ids = [];
  let parent;
  for (let i = 0; i < layers; i++) {
    const id = `${String(i).padStart(2, "0")}${"ab".repeat(31)}`;
    await store.build(
      id,
      { ...(parent ? { parent } : { base: "debian-bookworm" }), description: `layer ${i}` },
      async (layer) => {
        const data = join(work, "rand");
        execFileSync("sh", ["-c", `head -c ${bytes} /dev/urandom > ${data}`]);
        execFileSync("qemu-io", [
          "-f",
          "qcow2",
          "-c",
          `write -s ${data} ${i * bytes} ${bytes}`,
          layer.image,
        ]);
        layer.log(`layer ${i}\n`);
      },
    );
    ids.push(id);
    parent = id;
  }
  return ids;
}

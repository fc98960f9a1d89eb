import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { baseLayerId } from "@strata/builder";
import { defaultManifest, type GuestOs, loadImageManifest } from "@strata/qemu-runner";
import { type Store, storeLayout } from "@strata/store";
import type { BaseInfo } from "./schema.js";

/**
 * What a worker publishes about each base image in its store: the first layer's ID and the
 * guest OS and shell the build engine starts from, computed as the engine does (base image
 * name, size and mtime; the manifest, or defaults for `guestOs`), so a submitter can compute
 * the same layer chain without the image.
 */
export async function describeBaseImages(
  store: Store,
  guestOs: GuestOs = "linux",
): Promise<BaseInfo[]> {
  const dir = storeLayout(store.root).baseImageDir;
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((f) => f.endsWith(".qcow2"))
    .map((f) => f.slice(0, -".qcow2".length))
    .sort();
  const out: BaseInfo[] = [];
  for (const name of names) {
    try {
      const base = store.findBaseImage(name);
      const manifest = base.manifestPath
        ? await loadImageManifest(base.image)
        : defaultManifest(name, guestOs);
      const info = await stat(join(dir, `${name}.qcow2`));
      out.push({
        name,
        layerId: baseLayerId(name, `${info.size}:${info.mtimeMs}`),
        os: manifest.os,
        shell: [...manifest.shell],
      });
    } catch {
      // An image with an invalid name or manifest cannot be built on; leave it out.
    }
  }
  return out;
}

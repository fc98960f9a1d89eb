// Every file of a layer's disk, read on the host: the journal replayed on a raw copy, the tree
// extracted with debugfs, each entry digested with its type, mode and owner.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { openStore } from "@strata/store";
import { convertToRaw, replayExt4Journal } from "./ext4-journal.js";

const exec = promisify(execFile);

/** Guest path → "type mode uid:gid sha256" of every entry of layer `id` in the store at `root`. */
export async function digestLayerFiles(root: string, id: string): Promise<Map<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), "strata-layer-files-"));
  try {
    const raw = join(dir, "disk.raw");
    {
      await using store = await openStore({ root });
      await convertToRaw(store.layerImage(id), raw);
    }
    await replayExt4Journal(raw);
    const tree = join(dir, "tree");
    await exec("mkdir", [tree]);
    await exec("debugfs", ["-R", `rdump / ${tree}`, raw], { maxBuffer: 64 * 2 ** 20 });
    await rm(raw);
    const out = new Map<string, string>();
    await walk(tree, "", out);
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Walks without following symbolic links: Node 20's recursive readdir descends through a link to
// a directory (the guest's /dev/fd -> /proc/self/fd would list the host's own descriptors).
async function walk(tree: string, rel: string, out: Map<string, string>): Promise<void> {
  for (const name of await readdir(join(tree, rel))) {
    const guest = `${rel}/${name}`;
    const path = join(tree, guest);
    const s = await lstat(path);
    const body = s.isSymbolicLink()
      ? await readlink(path)
      : s.isFile()
        ? createHash("sha256")
            .update(await readFile(path))
            .digest("hex")
        : "";
    const kind = s.isSymbolicLink() ? "l" : s.isFile() ? "f" : s.isDirectory() ? "d" : "o";
    out.set(guest, `${kind} ${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid} ${body}`);
    if (s.isDirectory()) await walk(tree, guest, out);
  }
}

import { rm } from "node:fs/promises";
import { join } from "node:path";
import { runHostTool } from "@strata/host-tool";
import { createOwnedTempDir } from "@strata/qemu-runner/internal";

/** A throw-away qcow2 overlay of a finished image; disposing removes it. */
export interface ScratchOverlay extends AsyncDisposable {
  /** The overlay, writable; its backing file is never written. */
  readonly path: string;
}

/**
 * Creates a qcow2 overlay of `backing` (a qcow2) in a new temp directory. A VM that gets the
 * overlay writable may change it freely (a `strata shell` session; a guest mount replaying
 * ext4's journal) while the layer underneath stays as it was. The directory records its owner,
 * so a later command removes it if this process is killed first (`reapStaleVms`).
 */
export async function createScratchOverlay(
  backing: string,
  signal?: AbortSignal,
): Promise<ScratchOverlay> {
  const dir = await createOwnedTempDir("strata-scratch-");
  const path = join(dir, "overlay.qcow2");
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await runHostTool(
      "qemu-img",
      ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing, path],
      { signal },
    );
  } catch (err) {
    await remove();
    throw err;
  }
  return { path, [Symbol.asyncDispose]: remove };
}

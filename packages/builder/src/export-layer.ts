import type { Store } from "@strata/store";
import { bootLayer } from "./boot-layer.js";
import { type CopyOut, copyOutOfGuest } from "./copy-out.js";
import { splitGuestSource } from "./copy-out-plan.js";
import { BuildError } from "./errors.js";
import type { MachineOptions } from "./guest.js";

/** What {@link exportFromLayer} tells as it goes. */
export type ExportEvent =
  | { type: "booting"; id: string }
  | { type: "copied"; path: string; target: string }
  | { type: "skipped-link"; path: string; name: string; target: string };

export interface ExportFromLayerOptions extends MachineOptions {
  store: Store;
  /** The layer's full ID (resolve a prefix with `store.resolveLayerId`). */
  id: string;
  /** Guest paths and where each goes on the host, copied in this order. */
  copies: readonly CopyOut[];
  /** Most bytes of file content per copy. @default DEFAULT_TAR_MAX_BYTES (64 GiB) */
  maxBytes?: number | undefined;
  signal?: AbortSignal | undefined;
  onEvent?: ((event: ExportEvent) => void) | undefined;
}

/**
 * Copies files and directories out of a finished layer (`strata cp`, `strata build --output`)
 * through one VM: the layer's throw-away overlay is resumed from its saved state when it has
 * one, else booted, and every path comes out by `tar` over SSH into the hostile-stream
 * extraction of {@link copyOutOfGuest}. The guest file system is never parsed on the host, and
 * the layer itself is never written. POSIX guests only. Returns the host paths written.
 */
export async function exportFromLayer(o: ExportFromLayerOptions): Promise<string[]> {
  const { store, id, copies, maxBytes, signal, onEvent, ...machine } = o;
  // Every path is checked before a VM starts.
  for (const copy of copies) splitGuestSource(copy.path);
  const emit = onEvent ?? (() => {});
  emit({ type: "booting", id });
  await using guest = await bootLayer({
    ...machine,
    store,
    id,
    network: "restricted",
    ...(signal ? { signal } : {}),
  });
  if (guest.os === "windows")
    throw new BuildError("UNSUPPORTED", "copying out of a Windows layer is not supported yet");
  const targets: string[] = [];
  for (const copy of copies) {
    const target = await copyOutOfGuest(guest, copy, {
      maxBytes,
      signal,
      onSkippedLink: (name, to) =>
        emit({ type: "skipped-link", path: copy.path, name, target: to }),
    });
    emit({ type: "copied", path: copy.path, target });
    targets.push(target);
  }
  return targets;
}

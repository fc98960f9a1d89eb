import { open, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { loadImageManifest, type NetworkMode, startVm } from "@strata/qemu-runner";
import {
  assertImageAbsent,
  assertImageExists,
  createWorkOverlay,
  saveWorkOverlay,
} from "./image-files.js";
import { INSTALL_CD_LABEL, vncPortOf } from "./install.js";
import { writeIso } from "./iso.js";
import type { ImageProgressListener } from "./progress.js";
import { createWorkDir } from "./work-dir.js";

/** How often the console file is read for new output. */
const CONSOLE_POLL_MS = 200;

export interface RunImageOptions {
  baseImageDir: string;
  name: string;
  /** Serve the display on 127.0.0.1 over VNC. @default false */
  vnc?: boolean | undefined;
  /** A directory burnt onto a CD (label {@link INSTALL_CD_LABEL}) attached to the VM. */
  cdDir?: string | undefined;
  /** Save the disk as this new base image when the guest powers off. @default discard */
  save?: string | undefined;
  /** @default "restricted" */
  network?: NetworkMode | undefined;
  /** Receives the serial console's bytes as the guest writes them. */
  onConsole?: ((chunk: Buffer) => void) | undefined;
  /** Told once the VM runs: where its SSH and VNC answer. */
  onStarted?: ((info: { sshPort: number; vncPort: number | undefined }) => void) | undefined;
  cacheDir?: string | undefined;
  onProgress?: ImageProgressListener | undefined;
  /** Aborting stops the VM at once and discards its changes, `save` or not. */
  signal?: AbortSignal | undefined;
}

export interface RunImageResult {
  /** The new image when `save` was given and the guest powered off. */
  saved?: string | undefined;
}

/**
 * Boots base image NAME on a throwaway overlay for debugging (taskcluster's `qemu-run`): the
 * serial console streams to `onConsole`, VNC on 127.0.0.1 if asked. Resolves when the guest
 * powers off; its changes are discarded unless `save` names a new image, which then holds them.
 */
export async function runImage(o: RunImageOptions): Promise<RunImageResult> {
  const dir = resolve(o.baseImageDir);
  const image = await assertImageExists(dir, o.name);
  if (o.save) await assertImageAbsent(dir, o.save);
  const manifest = await loadImageManifest(image);
  const work = join(dir, `.run-${o.name}-${process.pid}`);
  await createWorkDir(work);
  try {
    const overlay = await createWorkOverlay(image, work, o.signal);
    const cdroms: string[] = [];
    if (o.cdDir) {
      cdroms.push(join(work, "cd.iso"));
      await writeIso({
        outPath: cdroms[0]!,
        volumeLabel: INSTALL_CD_LABEL,
        sourceDir: o.cdDir,
        ...(o.signal ? { signal: o.signal } : {}),
      });
    }
    const serialLogPath = join(work, "console.log");
    await writeFile(serialLogPath, "");
    {
      await using vm = await startVm({
        image: overlay,
        manifest,
        cdroms,
        network: o.network ?? "restricted",
        vnc: o.vnc ?? false,
        serialLogPath,
        ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      });
      o.onStarted?.({ sshPort: vm.sshPort, vncPort: vncPortOf(vm.argv) });
      const shutdown = vm.qmp.waitForEvent("SHUTDOWN", { timeoutMs: 2 ** 31 - 1 });
      shutdown.catch(() => {});
      const follow = followFile(serialLogPath, o.onConsole, vm.exited);
      const guestOff = await Promise.race([
        shutdown.then(
          (e) => e.data?.guest === true,
          () => false,
        ),
        vm.exited.then(() => false),
      ]);
      await vm.exited;
      await follow;
      o.signal?.throwIfAborted();
      if (!guestOff) return {};
    }
    if (!o.save) return {};
    o.onProgress?.({ type: "stage", stage: "convert", message: `saving ${o.save}` });
    const saved = await saveWorkOverlay(
      work,
      dir,
      o.name,
      o.save,
      { savedFrom: o.name, created: new Date().toISOString() },
      o,
    );
    return { saved: saved.image };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Streams what is appended to `path` until `until` settles, then the rest. */
async function followFile(
  path: string,
  onChunk: ((chunk: Buffer) => void) | undefined,
  until: Promise<unknown>,
): Promise<void> {
  if (!onChunk) return;
  let done = false;
  void until.then(() => {
    done = true;
  });
  const fh = await open(path, "r");
  try {
    let offset = 0;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const finished = done;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        onChunk(Buffer.from(buf.subarray(0, bytesRead)));
      }
      if (finished) return;
      await new Promise((r) => setTimeout(r, CONSOLE_POLL_MS));
    }
  } finally {
    await fh.close();
  }
}

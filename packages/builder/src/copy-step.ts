import { quotePosix } from "@strata/shell-quote";
import type { CopyOp, User } from "@strata/spec-parser";
import { type BuildContext, joinGuestPath } from "./build-context.js";
import { buildCopyManifest } from "./copy-manifest.js";
import { packCopyManifest, splitGuestRoot } from "./copy-tar.js";
import { BuildError } from "./errors.js";
import type { Guest } from "./guest.js";
import { prepareGuest } from "./guest-user.js";
import { copyLayerId } from "./layer-id.js";
import { GUEST_ROOT } from "./posix.js";
import { createScratchOverlay } from "./scratch-overlay.js";
import type { StepEnv } from "./step-env.js";
import { buildStepLayer, finishStepGuest, startStepGuest } from "./step-guest.js";

/** A finished stage of a multi-stage build, as `(copy (from (build NAME)))` reads it. */
export interface StageResult {
  readonly id: string;
  readonly image: string;
}

const SOURCE_SERIAL = "strata-src";
const SOURCE_MOUNT = "/mnt/strata-src";

/** The destination joined to the workdir, keeping a trailing "/" ("into this directory"). */
export function copyDestination(ctx: BuildContext, dst: string): string {
  const joined = joinGuestPath(ctx.os, ctx.workdir, dst);
  return /[\\/]$/.test(dst) && joined !== "/" && !joined.endsWith("/") ? `${joined}/` : joined;
}

/** A `copy` step: from the build context as a tar stream, or out of another stage's disk. */
export async function copyStep(
  env: StepEnv,
  parent: string,
  ctx: BuildContext,
  op: CopyOp,
  description: string,
  contextDir: string,
  stages: ReadonlyMap<string, StageResult>,
): Promise<string> {
  const dst = copyDestination(ctx, op.dst);
  let id: string;
  let fill: (guest: Guest) => Promise<void>;
  if (op.from === "context") {
    const manifest = await buildCopyManifest({ contextDir, src: op.src, dst, exclude: op.exclude });
    id = copyLayerId(parent, ctx, dst, manifest);
    fill = async (guest) => {
      if (env.manifest.os === "windows") {
        await guest.ssh.putTar(packCopyManifest(manifest, GUEST_ROOT), splitGuestRoot(dst).root);
        return;
      }
      const owner = await prepareGuest(guest, { user: ctx.user });
      // Extracted by root, so tar keeps the owners and modes the stream carries.
      await guest.ssh.putTar(packCopyManifest(manifest, owner), "/", { user: GUEST_ROOT });
    };
  } else {
    const name = op.from.build;
    const stage = stages.get(name);
    if (!stage) throw new BuildError("SPEC_INVALID", `copy from unknown build "${name}"`);
    if (env.manifest.os === "windows")
      throw new BuildError(
        "UNSUPPORTED",
        "copy from another build is not supported on Windows guests yet",
      );
    if (!/[\\/]$/.test(op.dst) && op.src.length !== 1)
      throw new BuildError(
        "SPEC_INVALID",
        `copy of ${op.src.length} sources needs a destination ending in "/"`,
      );
    id = copyLayerId(parent, ctx, dst, [], JSON.stringify([stage.id, op.src, op.exclude]));
    fill = (guest) =>
      copyFromStageDisk(guest, { image: stage.image, op, dst, user: ctx.user, stage: name });
  }
  return buildStepLayer(env, id, parent, description, async (layer) => {
    await using guest = await startStepGuest(env, {
      image: layer.image,
      parent,
      network: "restricted",
      signal: layer.signal,
    });
    env.emit({ type: "phase", phase: "copying" });
    await fill(guest);
    env.emit({ type: "phase", phase: "saving" });
    await finishStepGuest(env, guest, { id, dir: layer.dir }, "restricted");
  });
}

export interface CopyFromStageDiskOptions {
  /** The other stage's layer image (qcow2). */
  image: string;
  op: CopyOp;
  /** Guest destination, as {@link copyDestination} gives it. */
  dst: string;
  /** Owner of the copies. */
  user: User;
  /** The stage's name, for messages. */
  stage: string;
}

/**
 * Copies `op.src` out of another stage's layer disk into the running guest at `dst`, owned by
 * `user`. The guest gets a throw-away writable overlay of the disk, not the disk: a
 * layer's ext4 journal may hold writes not yet in place, and the kernel replays it on mount
 * only into a writable device. The layer itself is never written; the overlay is removed when
 * the guest stops.
 */
export async function copyFromStageDisk(guest: Guest, o: CopyFromStageDiskOptions): Promise<void> {
  const scratch = await createScratchOverlay(o.image);
  guest.defer(async () => {
    await scratch[Symbol.asyncDispose]();
  });
  await guest.attachDrives([{ path: scratch.path, serial: SOURCE_SERIAL }]);
  const owner = await prepareGuest(guest, { user: o.user });
  const r = await guest.runAsRoot(copyFromStageScript(o.op, o.dst, owner));
  if (r.exitCode !== 0)
    throw new BuildError(
      "COPY_FAILED",
      `copy from build "${o.stage}" failed (exit ${r.exitCode}):\n${r.stderr.trim()}`,
    );
}

/**
 * Shell script run as root in the guest: mount the other stage's disk (a scratch overlay), copy the
 * sources with tar (excludes by basename at any depth), then give them to the current user
 * with the spec's modes (0755 if any exec bit, else 0644; directories 0755).
 */
export function copyFromStageScript(
  op: CopyOp,
  dst: string,
  owner: { uid: number; gid: number },
): string {
  const q = quotePosix;
  const into = /[\\/]$/.test(op.dst);
  const excludes = op.exclude.map((e) => `--exclude=${q(e)}`).join(" ");
  const lines = [
    "set -eu",
    `dev=/dev/disk/by-id/virtio-${SOURCE_SERIAL}`,
    `mkdir -p ${SOURCE_MOUNT}`,
    // Read-only mount of a writable device: ext4 still replays its journal (into the overlay).
    `mount -o ro "$dev" ${SOURCE_MOUNT}`,
    `trap 'umount ${SOURCE_MOUNT}' EXIT`,
    "fix() { chown -hR " +
      `${owner.uid}:${owner.gid}` +
      ' "$1"; find "$1" -type d -exec chmod 0755 {} +; find "$1" -type f -perm /111 -exec chmod 0755 {} +; find "$1" -type f ! -perm /111 -exec chmod 0644 {} +; }',
  ];
  for (const src of op.src) {
    const rel = src.replace(/^\/+/, "").replace(/\/+$/, "");
    const from = `${SOURCE_MOUNT}/${rel}`;
    const base = rel.split("/").pop() ?? "";
    const target = into ? `${dst.replace(/\/+$/, "")}/${base}` : dst.replace(/\/+$/, "");
    lines.push(
      // The message is one quoted word: `src` is the spec's text and may hold `$(...)`.
      `[ -e ${q(from)} ] || [ -L ${q(from)} ] || { printf '%s\\n' ${q(`copy source ${rel} does not exist in the build's result`)} >&2; exit 1; }`,
      `mkdir -p "$(dirname ${q(target)})"`,
      `if [ -d ${q(from)} ] && [ ! -L ${q(from)} ]; then mkdir -p ${q(target)}; tar -C ${q(from)} ${excludes} -cf - . | tar -C ${q(target)} -xf -; else cp -a ${q(from)} ${q(target)}; fi`,
      `fix ${q(target)}`,
    );
  }
  return lines.join("\n");
}

import { join } from "node:path";

/** Every path of the store's on-disk layout (see DESIGN.md, "Store layout"), from its root. */
export interface StoreLayout {
  readonly root: string;
  readonly baseImageDir: string;
  readonly resultDir: string;
  readonly resultTmpDir: string;
  readonly cacheDir: string;
  readonly cacheTmpDir: string;
  readonly stateDir: string;
  readonly locksDir: string;
  readonly keysDir: string;
  /** Blobs being pulled from a registry, kept across runs so a killed pull resumes. */
  readonly downloadDir: string;
  /** The store's SSH private key (its public half beside it, `.pub`). */
  readonly sshKeyPath: string;
  /** Downloaded image files (cloud images), kept to be checked and reused. */
  readonly downloadsDir: string;
  readonly databasePath: string;
}

export function storeLayout(root: string): StoreLayout {
  const stateDir = join(root, "state");
  return {
    root,
    baseImageDir: join(root, "base-image"),
    resultDir: join(root, "result"),
    resultTmpDir: join(root, "result-tmp"),
    cacheDir: join(root, "cache"),
    cacheTmpDir: join(root, "cache-tmp"),
    stateDir,
    locksDir: join(stateDir, "locks"),
    keysDir: join(root, "keys"),
    downloadDir: join(root, "download"),
    sshKeyPath: join(root, "keys", SSH_KEY_NAME),
    downloadsDir: join(root, "downloads"),
    databasePath: join(stateDir, "store.db"),
  };
}

/** File name of the store's SSH private key in `keys/`. */
export const SSH_KEY_NAME = "id_ed25519";

/** A finished layer's qcow2 image, `result/<id>/rootfs/image.qcow2`. */
export function layerImagePath(root: string, id: string): string {
  return join(root, "result", id, LAYER_IMAGE);
}

/** Files inside a layer directory (`result/<id>/` or `result-tmp/<id>/`). */
export const LAYER_ROOTFS = "rootfs";
export const LAYER_IMAGE = join(LAYER_ROOTFS, "image.qcow2");
export const LAYER_LOG = "log";
export const LAYER_META = "meta.json";

/**
 * Backing-file reference written into a layer's overlay. qemu resolves a relative backing path
 * from the directory of the overlay, which is `result-tmp/<id>/rootfs/` while the step runs and
 * `result/<id>/rootfs/` after the rename; both are three levels below the store root, so going
 * up to the root and back down is valid from either place and survives moving the whole store.
 */
export function parentBackingPath(parentId: string): string {
  return `../../../result/${parentId}/${LAYER_IMAGE}`;
}

/** Backing-file reference of a first layer, to `base-image/<name>.qcow2` (see {@link parentBackingPath}). */
export function baseBackingPath(baseName: string): string {
  return `../../../base-image/${baseName}.qcow2`;
}

/** The layer ID or base image name a backing reference written by this store points at. */
export function parseBackingPath(
  backing: string,
): { parent: string } | { base: string } | undefined {
  const parent = /^\.\.\/\.\.\/\.\.\/result\/([0-9a-f]{64})\/rootfs\/image\.qcow2$/.exec(backing);
  if (parent) return { parent: parent[1]! };
  const base = /^\.\.\/\.\.\/\.\.\/base-image\/([^/]+)\.qcow2$/.exec(backing);
  if (base) return { base: base[1]! };
  return undefined;
}

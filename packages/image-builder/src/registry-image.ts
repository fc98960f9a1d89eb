import { setMaxListeners } from "node:events";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ArtifactNotFoundError,
  ArtifactRefusedError,
  assembleChunks,
  checkChunks,
  mediaTypes,
  type PlannedChunk,
  progressReporter,
  pushFileChunks,
  pushSmallBlob,
  readQcow2Header,
  removeDownloads,
  startDownloads,
  type TransferEventListener,
} from "@strata/layer-transfer";
import {
  type Descriptor,
  encodeManifest,
  OCI_MANIFEST,
  type OciManifest,
  parseOciManifest,
  type RegistryClient,
  RegistryError,
  RegistryNotFoundError,
} from "@strata/registry";
import { baseImageIdentity, writeBaseImageIdentity } from "@strata/store/layout";
import { ImageInputError } from "./errors.js";
import {
  assertImageAbsent,
  assertImageExists,
  checkImageName,
  copyImageKey,
  manifestFiles,
  moveImageInto,
  readManifestJson,
} from "./image-files.js";
import { createWorkDir } from "./work-dir.js";

const {
  ANNOTATION_CREATED,
  BASE_IMAGE_ARTIFACT,
  BASE_IMAGE_CONFIG,
  DISK_CHUNK,
  IMAGE_MANIFEST,
  INITRD_CHUNK,
  KERNEL_CHUNK,
} = mediaTypes;

/** A base image's record, the config of its artifact. */
interface BaseImageRecord {
  readonly schema: 1;
  readonly name: string;
  /** The identity first layers built on it use (see the store's `baseImageIdentity`). */
  readonly identity: string;
  readonly created: number;
  readonly diskSize: number;
  readonly kernelSize?: number;
  readonly initrdSize?: number;
}

/** Options of {@link pushBaseImage}. */
export interface PushBaseImageOptions {
  readonly client: RegistryClient;
  readonly repository: string;
  /** @default the image's name */
  readonly tag?: string;
  readonly baseImageDir: string;
  readonly name: string;
  readonly signal?: AbortSignal;
  readonly onEvent?: TransferEventListener;
}

/**
 * Pushes base image NAME (disk, kernel, initrd and manifest; never its private key) as one OCI
 * artifact tagged NAME. Returns the manifest's digest.
 */
export async function pushBaseImage(o: PushBaseImageOptions): Promise<string> {
  const image = await assertImageExists(o.baseImageDir, o.name);
  const tag = o.tag ?? o.name;
  if (!/^[\w][\w.-]{0,127}$/.test(tag)) {
    throw new ImageInputError(
      `image name "${o.name}" is not a valid registry tag: give REF with :TAG`,
    );
  }
  const header = await readQcow2Header(image);
  if (typeof header === "string" || header.backingFile !== undefined || header.externalData) {
    throw new ImageInputError(`${image} is not a standalone qcow2 image; only those can be pushed`);
  }
  const json = await readManifestJson(o.baseImageDir, o.name);
  const files = json
    ? manifestFiles(json, o.baseImageDir)
    : { kernel: undefined, initrd: undefined };
  const sizeOf = async (p: string | undefined) => (p ? (await stat(p)).size : 0);
  const [diskSize, kernelSize, initrdSize] = await Promise.all([
    sizeOf(image),
    sizeOf(files.kernel),
    sizeOf(files.initrd),
  ]);
  const progress = progressReporter(diskSize + kernelSize + initrdSize, o.onEvent);
  const signal = o.signal ? { signal: o.signal } : {};
  const common = { compress: true, onProgress: progress, ...signal };
  const small = (data: Buffer, mediaType: string, title?: string) =>
    pushSmallBlob(o.client, o.repository, data, mediaType, title, signal);
  const push = (path: string, mediaType: string, title: string) =>
    pushFileChunks(o.client, o.repository, path, { mediaType, title, ...common });
  const disk = await push(image, DISK_CHUNK, `${o.name}.qcow2`);
  const kernel = files.kernel ? await push(files.kernel, KERNEL_CHUNK, `${o.name}.vmlinuz`) : [];
  const initrd = files.initrd ? await push(files.initrd, INITRD_CHUNK, `${o.name}.initrd`) : [];
  const layers: Descriptor[] = [...disk, ...kernel, ...initrd];
  if (json) {
    // The private key stays home: the pulling store is told how to give the image its key.
    const { privateKey: _dropped, ...ssh } = (json.ssh ?? {}) as Record<string, unknown>;
    const bytes = Buffer.from(JSON.stringify({ ...json, ssh }));
    layers.push(await small(bytes, IMAGE_MANIFEST, `${o.name}.json`));
  }
  const record: BaseImageRecord = {
    schema: 1,
    name: o.name,
    identity: baseImageIdentity(image),
    created: Date.now(),
    diskSize,
    ...(files.kernel ? { kernelSize } : {}),
    ...(files.initrd ? { initrdSize } : {}),
  };
  const config = await small(Buffer.from(JSON.stringify(record)), BASE_IMAGE_CONFIG);
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BASE_IMAGE_ARTIFACT,
    config,
    layers,
    annotations: { [ANNOTATION_CREATED]: new Date(record.created).toISOString() },
  };
  const digest = await o.client.putManifest(
    o.repository,
    tag,
    encodeManifest(manifest),
    OCI_MANIFEST,
    signal,
  );
  o.onEvent?.({ type: "item", id: o.name, action: "pushed" });
  return digest;
}

/** Options of {@link pullBaseImage}. */
export interface PullBaseImageOptions {
  readonly client: RegistryClient;
  readonly repository: string;
  readonly tag: string;
  readonly baseImageDir: string;
  /** Where blobs are downloaded first (the store's download dir), so a killed pull resumes. */
  readonly downloadDir: string;
  /** Install under this name. */
  readonly name: string;
  /** The private key the image accepts, copied beside it (mode 0600) and named in its manifest. */
  readonly sshKey?: string;
  readonly signal?: AbortSignal;
  readonly onEvent?: TransferEventListener;
}

/** What {@link pullBaseImage} installed. */
export interface PulledBaseImage {
  readonly name: string;
  readonly image: string;
  /** True when the image has a manifest but no private key: builds need one (`--ssh-key`). */
  readonly needsKey: boolean;
}

/**
 * Pulls a base image artifact into `baseImageDir` under `name`: every blob verified, the disk
 * refused if its qcow2 names a backing or data file, the manifest's file names replaced by the
 * image's own, and the set moved in with the qcow2 last, so the image exists only when whole.
 */
export async function pullBaseImage(o: PullBaseImageOptions): Promise<PulledBaseImage> {
  checkImageName(o.name);
  await assertImageAbsent(o.baseImageDir, o.name);
  const reference = `${o.client.registry}/${o.repository}:${o.tag}`;
  const signal = o.signal ? { signal: o.signal } : {};
  let fetched: Awaited<ReturnType<RegistryClient["getManifest"]>>;
  try {
    fetched = await o.client.getManifest(o.repository, o.tag, signal);
  } catch (error) {
    if (error instanceof RegistryNotFoundError) throw new ArtifactNotFoundError(reference);
    throw error;
  }
  let manifest: OciManifest;
  try {
    manifest = parseOciManifest(fetched.json, `manifest of ${reference}`);
  } catch (error) {
    if (error instanceof RegistryError) throw new ArtifactRefusedError(reference, error.message);
    throw error;
  }
  const refuse = (why: string): never => {
    throw new ArtifactRefusedError(reference, why);
  };
  if (manifest.artifactType !== BASE_IMAGE_ARTIFACT) refuse("it is not a strata base image");
  if (manifest.config.mediaType !== BASE_IMAGE_CONFIG || manifest.config.size > 65_536)
    refuse("its config is not a base image record");
  const record = checkImageRecord(
    JSON.parse(
      (
        await o.client.readDescribed(o.repository, manifest.config, {
          maxBytes: 65_536,
          ...signal,
        })
      ).toString("utf8"),
    ),
  );
  if (typeof record === "string") return refuse(record);
  const known = new Set([DISK_CHUNK, KERNEL_CHUNK, INITRD_CHUNK, IMAGE_MANIFEST]);
  const stranger = manifest.layers.find((d) => !known.has(d.mediaType));
  if (stranger) refuse(`it holds a blob of unknown type ${JSON.stringify(stranger.mediaType)}`);
  const part = (type: string, size: number | undefined): PlannedChunk[] => {
    const descriptors = manifest.layers.filter((d) => d.mediaType === type);
    if (size === undefined) {
      if (descriptors.length > 0) refuse(`it holds ${type} blobs its record does not declare`);
      return [];
    }
    const chunks = checkChunks(descriptors, type, size);
    return typeof chunks === "string" ? refuse(chunks) : chunks;
  };
  const disk = part(DISK_CHUNK, record.diskSize);
  const kernel = part(KERNEL_CHUNK, record.kernelSize);
  const initrd = part(INITRD_CHUNK, record.initrdSize);
  const manifests = manifest.layers.filter((d) => d.mediaType === IMAGE_MANIFEST);
  if (manifests.length > 1 || (manifests[0]?.size ?? 0) > 65_536)
    refuse("it holds more than one small image manifest");
  const all = [...disk, ...kernel, ...initrd];
  const progress = progressReporter(
    all.reduce((a, c) => a + c.descriptor.size, 0),
    o.onEvent,
  );
  await mkdir(o.downloadDir, { recursive: true });
  // Blobs download in the background (verified each) while the chunks already here are
  // written; they are stopped, partial blobs kept for a resume, when the pull ends early.
  const stop = new AbortController();
  const downloadSignal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  setMaxListeners(0, downloadSignal); // every chunk's requests listen to it
  const dl = {
    downloadDir: o.downloadDir,
    compressed: true,
    onProgress: progress,
    signal: downloadSignal,
  };
  const blobs = startDownloads(o.client, o.repository, all, dl);
  const work = join(o.baseImageDir, `.pull-${process.pid}-${Date.now()}`);
  try {
    const imageJson = manifests[0]
      ? parseJsonObject(
          (
            await o.client.readDescribed(o.repository, manifests[0], {
              maxBytes: 65_536,
              ...signal,
            })
          ).toString("utf8"),
        )
      : undefined;
    if (manifests[0] && !imageJson) refuse("its image manifest is not a JSON object");
    await createWorkDir(work);
    const files: string[] = [`${o.name}.qcow2`];
    const qcow2 = join(work, `${o.name}.qcow2`);
    const bad = await assembleChunks(disk, blobs.slice(0, disk.length), qcow2, true, o.signal);
    if (bad) refuse(`its disk is corrupt (${bad})`);
    const header = await readQcow2Header(qcow2);
    if (typeof header === "string") refuse(`its disk is ${header}`);
    else if (header.backingFile !== undefined)
      refuse(`its qcow2 names a backing file (${JSON.stringify(header.backingFile)})`);
    else if (header.externalData) refuse("its qcow2 keeps its data in an external data file");
    const boot = { ...((imageJson?.boot ?? {}) as Record<string, unknown>) };
    const assemble = async (
      chunks: PlannedChunk[],
      at: number,
      suffix: "vmlinuz" | "initrd",
      key: string,
    ) => {
      if (chunks.length === 0) {
        // A manifest may only name the files the artifact carries: nothing on this host.
        if (boot[key] !== undefined)
          refuse(`its manifest names a ${key} the artifact does not carry`);
        return;
      }
      const file = `${o.name}.${suffix}`;
      const problem = await assembleChunks(
        chunks,
        blobs.slice(at, at + chunks.length),
        join(work, file),
        true,
        o.signal,
      );
      if (problem) refuse(`its ${key} is corrupt (${problem})`);
      boot[key] = file;
      files.push(file);
    };
    await assemble(kernel, disk.length, "vmlinuz", "kernel");
    await assemble(initrd, disk.length + kernel.length, "initrd", "initrd");
    let needsKey = false;
    if (imageJson) {
      const ssh = { ...((imageJson.ssh ?? {}) as Record<string, unknown>) };
      delete ssh.privateKey;
      if (o.sshKey) {
        ssh.privateKey = await copyImageKey(o.sshKey, work, o.name);
        files.push(ssh.privateKey as string);
      } else needsKey = true;
      const out = { ...imageJson, name: o.name, ssh, ...(imageJson.boot ? { boot } : {}) };
      await writeFile(join(work, `${o.name}.json`), `${JSON.stringify(out, null, 2)}\n`);
      files.push(`${o.name}.json`);
    }
    writeBaseImageIdentity(qcow2, record.identity);
    files.push(`${o.name}.identity.json`);
    await moveImageInto(work, o.baseImageDir, o.name, files);
    await removeDownloads(await Promise.all(blobs));
    o.onEvent?.({ type: "item", id: o.name, action: "pulled" });
    return { name: o.name, image: join(o.baseImageDir, `${o.name}.qcow2`), needsKey };
  } finally {
    stop.abort();
    await Promise.allSettled(blobs);
    await rm(work, { recursive: true, force: true });
  }
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function checkImageRecord(json: unknown): BaseImageRecord | string {
  if (typeof json !== "object" || json === null) return "its config is not a JSON object";
  const r = json as Record<string, unknown>;
  const size = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (r.schema !== 1) return "its config's schema is not 1";
  if (typeof r.identity !== "string" || r.identity.length > 256)
    return "its config has no identity";
  if (typeof r.created !== "number") return "its config has no created time";
  if (!size(r.diskSize)) return "its config's disk size is not a byte count";
  if (r.kernelSize !== undefined && !size(r.kernelSize))
    return "its config's kernel size is not a byte count";
  if (r.initrdSize !== undefined && !size(r.initrdSize))
    return "its config's initrd size is not a byte count";
  return r as unknown as BaseImageRecord;
}

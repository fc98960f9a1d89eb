import { RegistryProtocolError } from "./errors.js";
import { type Descriptor, OCI_MANIFEST, type OciManifest } from "./media-types.js";
import { isDigest } from "./reference.js";

/**
 * Checks that parsed JSON is an OCI image manifest whose descriptors are well formed (sha256
 * digests, non-negative integer sizes, string media types), so later code may trust its shape.
 * What the descriptors *mean* is the caller's to check.
 */
export function parseOciManifest(json: unknown, what = "manifest"): OciManifest {
  const fail = (reason: string): never => {
    throw new RegistryProtocolError(`The ${what} is not a valid OCI manifest: ${reason}.`);
  };
  if (typeof json !== "object" || json === null) return fail("not a JSON object");
  const m = json as Record<string, unknown>;
  if (m.schemaVersion !== 2) fail("schemaVersion is not 2");
  if (m.mediaType !== OCI_MANIFEST) fail(`mediaType is ${JSON.stringify(m.mediaType)}`);
  if (m.artifactType !== undefined && typeof m.artifactType !== "string")
    fail("artifactType is not a string");
  checkDescriptor(m.config, "config", fail);
  if (!Array.isArray(m.layers)) fail("layers is not a list");
  for (const [i, layer] of (m.layers as unknown[]).entries())
    checkDescriptor(layer, `layers[${i}]`, fail);
  if (m.annotations !== undefined) checkAnnotations(m.annotations, "annotations", fail);
  return json as OciManifest;
}

function checkDescriptor(value: unknown, where: string, fail: (reason: string) => never): void {
  if (typeof value !== "object" || value === null) fail(`${where} is not a descriptor`);
  const d = value as Partial<Descriptor>;
  if (typeof d.mediaType !== "string") fail(`${where}.mediaType is not a string`);
  if (typeof d.digest !== "string" || !isDigest(d.digest))
    fail(`${where}.digest is not sha256:<64 hex>`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) {
    fail(`${where}.size is not a non-negative integer`);
  }
  if (d.data !== undefined && typeof d.data !== "string") fail(`${where}.data is not a string`);
  if (d.annotations !== undefined) checkAnnotations(d.annotations, `${where}.annotations`, fail);
}

function checkAnnotations(value: unknown, where: string, fail: (reason: string) => never): void {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail(`${where} is not an object`);
  for (const v of Object.values(value as object)) {
    if (typeof v !== "string") fail(`${where} holds a value that is not a string`);
  }
}

/**
 * `descriptor` with `bytes`, its content, embedded as its `data` (OCI image spec 1.1), so a
 * reader of the manifest needs no request for it. For small blobs (configs, short logs): the
 * manifest carries them base64, and registries cap a manifest's size (4 MiB in distribution).
 */
export function embedData<D extends Descriptor>(descriptor: D, bytes: Uint8Array): D {
  return { ...descriptor, data: Buffer.from(bytes).toString("base64") };
}

/** Serialises a manifest as the exact bytes to push (and hash). */
export function encodeManifest(manifest: OciManifest): Buffer {
  return Buffer.from(JSON.stringify(manifest));
}

/** OCI image manifest (also used for artifacts, with `artifactType`). */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image index. */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** The empty config descriptor's media type (`{}`), for artifacts without a config of their own. */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
/** Docker's schema 2 manifest and list, which registries still serve for images. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

/** The `Accept` list for manifest requests. */
export const MANIFEST_ACCEPT: readonly string[] = [
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
];

/** A content descriptor (OCI image spec). */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly artifactType?: string;
  /**
   * The content itself, base64 (OCI image spec 1.1): a reader may use it instead of fetching
   * the blob, once it matches `digest` and `size` (see {@link RegistryClient.readDescribed}).
   */
  readonly data?: string;
}

/** An OCI image manifest, the shape ORAS pushes for artifacts. */
export interface OciManifest {
  readonly schemaVersion: 2;
  readonly mediaType: typeof OCI_MANIFEST;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

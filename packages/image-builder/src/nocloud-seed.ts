import { writeIso } from "./iso.js";

/** The volume label cloud-init's NoCloud source looks for. */
const NOCLOUD_LABEL = "cidata";

export interface NoCloudSeed {
  /** `#cloud-config` text (see `cloudConfig`) or a script. */
  userData: string;
  /** See `cloudMetaData`. */
  metaData: string;
  /** Network config v1 or v2 (YAML or JSON); omitted, the distribution's default (DHCP) applies. */
  networkConfig?: string | undefined;
}

interface WriteSeedIsoOptions extends NoCloudSeed {
  outPath: string;
  signal?: AbortSignal;
}

/** The seed's files by name, as the ISO holds them and the metadata service serves them. */
export function seedFiles(seed: NoCloudSeed): Record<string, string> {
  return {
    "user-data": seed.userData,
    "meta-data": seed.metaData,
    ...(seed.networkConfig === undefined ? {} : { "network-config": seed.networkConfig }),
  };
}

/** Writes a NoCloud seed ISO (label `cidata`) with xorriso, or genisoimage without it. */
export async function writeSeedIso(options: WriteSeedIsoOptions): Promise<void> {
  await writeIso({
    outPath: options.outPath,
    volumeLabel: NOCLOUD_LABEL,
    files: seedFiles(options),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

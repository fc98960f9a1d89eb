import { parseReference, type Reference, RegistryClient } from "@strata/registry";
import { UsageError } from "./usage-error.js";

/** `--insecure-registry` as every registry command takes it. */
export const REGISTRY_OPTIONS = {
  "insecure-registry": {
    type: "boolean",
    help: "allow plain HTTP to a registry that is not on loopback\n(credentials: ~/.docker/config.json auths or credential helpers)",
  },
} as const;

/** A registry reference opened for use: the client and the parsed reference. */
export interface OpenedRegistry {
  readonly client: RegistryClient;
  readonly reference: Reference;
}

/** Options of {@link openRegistry}. */
export interface OpenRegistryOptions {
  /** Allow plain HTTP to a host that is not loopback (`--insecure-registry`). @default false */
  readonly insecure?: boolean | undefined;
  /**
   * Refuse a tag or digest: the reference names a repository of layers, each tagged by its ID.
   * The text names where to look for help (`"strata push --help"`). @default tags allowed
   */
  readonly repositoryOnly?: string;
}

/**
 * Parses `HOST[:PORT]/REPO[:TAG]` (a malformed one throws `InvalidReferenceError`, a usage
 * error) and makes a client with the Docker config's credentials.
 */
export function openRegistry(ref: string, options: OpenRegistryOptions = {}): OpenedRegistry {
  const reference = parseReference(ref);
  if (options.repositoryOnly && (reference.tag || reference.digest)) {
    throw new UsageError(
      `"${ref}": give the repository only (HOST[:PORT]/REPO); layers are tagged by their ID. See "${options.repositoryOnly}"`,
    );
  }
  const insecure = options.insecure;
  const client = new RegistryClient({ registry: reference.registry, insecure: insecure ?? false });
  return { client, reference };
}

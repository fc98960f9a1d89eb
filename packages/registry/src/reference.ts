import { isIP } from "node:net";
import { InvalidReferenceError } from "./errors.js";

/** A parsed `HOST[:PORT]/REPOSITORY[:TAG][@DIGEST]`. */
export interface Reference {
  /** `host[:port]` as written, used for URLs and to look up credentials. */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

// The distribution spec's grammar (distribution/reference), anchored.
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REPOSITORY_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const HOST_RE =
  /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;

/** True for a repository name the distribution spec accepts (lowercase, `/`-separated components). */
export function isRepositoryName(name: string): boolean {
  return name.length <= 255 && REPOSITORY_RE.test(name);
}

/** True for a valid tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`). */
export function isTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** True for a `sha256:<64 hex>` digest, the only algorithm this client writes and verifies. */
export function isDigest(digest: string): boolean {
  return DIGEST_RE.test(digest);
}

/**
 * Parses `HOST[:PORT]/REPOSITORY[:TAG][@DIGEST]`. Unlike Docker, the host is never implied:
 * strata's references always name their registry.
 */
export function parseReference(input: string): Reference {
  const slash = input.indexOf("/");
  if (slash <= 0) throw new InvalidReferenceError(input, "it names no registry host");
  const registry = input.slice(0, slash);
  if (!HOST_RE.test(registry)) throw new InvalidReferenceError(input, "the host is malformed");
  let rest = input.slice(slash + 1);
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest))
      throw new InvalidReferenceError(input, "the digest is not sha256:<64 hex>");
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) throw new InvalidReferenceError(input, "the tag is malformed");
  }
  if (!isRepositoryName(rest)) {
    throw new InvalidReferenceError(
      input,
      "the repository must be lowercase letters, digits and separators (. _ __ -), in /-separated parts",
    );
  }
  return {
    registry,
    repository: rest,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** Writes a reference back as text. */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** The host part of `host[:port]`, without brackets. */
export function registryHostname(registry: string): string {
  if (registry.startsWith("[")) return registry.slice(1, registry.indexOf("]"));
  const colon = registry.lastIndexOf(":");
  return colon >= 0 ? registry.slice(0, colon) : registry;
}

/** True for `localhost`, `127.0.0.0/8` and `::1`: the hosts that may use plain HTTP by default. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registryHostname(registry).toLowerCase();
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || host === "0:0:0:0:0:0:0:1";
  return false;
}

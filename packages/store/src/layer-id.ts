import { AmbiguousLayerIdError, InvalidLayerIdError, LayerNotFoundError } from "./errors.js";

const LAYER_ID = /^[0-9a-f]{64}$/;

/** True when `id` is a layer ID: 64 lowercase hex characters (a SHA-256 digest). */
export function isLayerId(id: string): boolean {
  return LAYER_ID.test(id);
}

/** Returns `id` unchanged, or throws {@link InvalidLayerIdError}. */
export function validateLayerId(id: string): string {
  if (!isLayerId(id)) throw new InvalidLayerIdError(id);
  return id;
}

/** The shortest prefix of a layer ID taken in its place, as git and docker take short IDs. */
export const MIN_LAYER_ID_PREFIX = 4;

const LAYER_ID_PREFIX = /^[0-9a-f]{4,64}$/;

/** True when `text` is a full layer ID or a prefix of one long enough to look up. */
export function isLayerIdPrefix(text: string): boolean {
  return LAYER_ID_PREFIX.test(text);
}

/**
 * The one layer ID among `ids` that `text` names: itself when it is a full ID, else the ID it is
 * the only prefix of. Throws {@link InvalidLayerIdError} for text that is neither hex nor at least
 * {@link MIN_LAYER_ID_PREFIX} long, {@link LayerNotFoundError} when nothing matches and
 * {@link AmbiguousLayerIdError} (listing the candidates) when several do.
 */
export function matchLayerId(text: string, ids: Iterable<string>): string {
  if (!isLayerIdPrefix(text)) throw new InvalidLayerIdError(text);
  const matches: string[] = [];
  for (const id of ids) {
    if (id === text) return id;
    if (id.startsWith(text)) matches.push(id);
  }
  if (matches.length === 0) throw new LayerNotFoundError(text);
  if (matches.length > 1) throw new AmbiguousLayerIdError(text, matches.sort());
  return matches[0]!;
}

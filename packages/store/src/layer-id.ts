import { InvalidLayerIdError } from "./errors.js";

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

import { join } from "node:path";

export { formatBytes, resolveStoreRoot, STORE_OPTION } from "@strata/cli-kit";

/** `<store>/base-image`, where base images live. */
export function baseImageDir(storeRoot: string): string {
  return join(storeRoot, "base-image");
}

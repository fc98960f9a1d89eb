import { storeLayout } from "@strata/store/layout";

export { formatBytes, resolveStoreRoot, STORE_OPTION } from "@strata/cli-kit";

/** `<store>/base-image`, where base images live. */
export function baseImageDir(storeRoot: string): string {
  return storeLayout(storeRoot).baseImageDir;
}

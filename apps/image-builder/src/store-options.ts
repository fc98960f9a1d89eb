import { type CliIo, resolveStoreRoot } from "@strata/cli-kit";
import { reapStaleLeftovers } from "@strata/image-builder/work-dir";
import { assertStoreOwner, storeLayout } from "@strata/store/layout";

export { formatBytes, resolveStoreRoot, STORE_OPTION } from "@strata/cli-kit";

/** `<store>/base-image`, where base images live. */
export function baseImageDir(storeRoot: string): string {
  return storeLayout(storeRoot).baseImageDir;
}

/**
 * The store root of `--store`, after cleaning up what killed strata processes left there and in
 * the temp directory (their VMs, temp and work directories): every command that uses a store
 * starts with this.
 */
export async function prepareStoreRoot(value: string | undefined, io: CliIo): Promise<string> {
  const root = resolveStoreRoot(value, io.cwd, io.env);
  assertStoreOwner(root);
  const reaped = await reapStaleLeftovers(root);
  if (reaped.vms.length > 0) {
    io.stderr.write(
      `strata-image: stopped ${reaped.vms.length} VM(s) left running by a killed strata process\n`,
    );
  }
  return root;
}

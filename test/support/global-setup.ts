// Builds (once per machine) the Debian image the VM tests boot, before any of them runs.
import { ensureTestBaseImage } from "./base-image.mjs";

export default async function setup(): Promise<void> {
  process.env.STRATA_TEST_IMAGE_DIR = await ensureTestBaseImage();
}

// Before any VM test: builds the apps (and every package they use), so a test that spawns
// `strata` or `strata-image` runs today's code, not a stale dist/ (turbo skips what is built);
// then builds (once per machine) the Debian image the VM tests boot.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ensureTestBaseImage } from "./base-image.mjs";

const root = join(import.meta.dirname, "..", "..");

export default async function setup(): Promise<void> {
  execFileSync(
    join(root, "node_modules", ".bin", "turbo"),
    [
      "run",
      "build",
      "--filter=@strata/cli...",
      "--filter=@strata/image-builder-cli...",
      "--output-logs=errors-only",
    ],
    { cwd: root, stdio: ["ignore", "inherit", "inherit"] },
  );
  process.env.STRATA_TEST_IMAGE_DIR = await ensureTestBaseImage();
}

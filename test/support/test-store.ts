// A fresh store in a temp dir whose base-image/ holds the cached Debian test image (hard links,
// so nothing is copied). Removed by disposing it.
import { link, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestStore extends AsyncDisposable {
  readonly root: string;
}

export function testImageDir(): string {
  const dir = process.env.STRATA_TEST_IMAGE_DIR;
  if (!dir)
    throw new Error("STRATA_TEST_IMAGE_DIR is unset: run VM tests through vitest's e2e project");
  return dir;
}

export async function createTestStore(prefix = "strata-e2e-"): Promise<TestStore> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const baseDir = join(root, "base-image");
  await mkdir(baseDir);
  const image = testImageDir();
  for (const f of await readdir(image))
    if (f.startsWith("debian-bookworm.")) await link(join(image, f), join(baseDir, f));
  return {
    root,
    [Symbol.asyncDispose]: () => rm(root, { recursive: true, force: true }),
  };
}

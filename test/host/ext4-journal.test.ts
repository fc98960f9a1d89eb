// Host-level, no VM: a real ext4 image whose newest file exists only in its journal. Reading it
// without replay (as a `noload` mount or a direct read does) misses the file; replaying the
// journal finds it. test/build.test.ts mounts such an image in a guest through the copy step.
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  makeJournaledExt4,
  readExt4Features,
  readExt4FileWithoutReplay,
  replayExt4Journal,
} from "../support/ext4-journal.js";

describe("an ext4 image with an unreplayed journal", () => {
  let dir: string;
  let image: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-ext4-"));
    image = await makeJournaledExt4(dir, "/opt/tool/VERSION", "from-the-journal\n");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("needs recovery, and a read without replay misses the journalled file", async () => {
    expect(await readExt4Features(image)).toContain("needs_recovery");
    expect(await readExt4FileWithoutReplay(image, "/base.txt")).toBe("base\n");
    expect(await readExt4FileWithoutReplay(image, "/opt/tool/VERSION")).toBeUndefined();
  });

  it("holds the file once the journal is replayed", async () => {
    const copy = join(dir, "replayed.raw");
    await copyFile(image, copy);
    await replayExt4Journal(copy);
    expect(await readExt4Features(copy)).not.toContain("needs_recovery");
    expect(await readExt4FileWithoutReplay(copy, "/opt/tool/VERSION")).toBe("from-the-journal\n");
    expect(await readExt4FileWithoutReplay(copy, "/base.txt")).toBe("base\n");
  });
});

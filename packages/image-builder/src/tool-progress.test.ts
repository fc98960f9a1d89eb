import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { IMAGE_STAGES } from "./progress.js";
import { classifyToolLine } from "./tool-progress.js";

describe("classifyToolLine", () => {
  it("reads qemu-img -p counters, mmdebstrap stages, and leaves the rest as output", () => {
    expect(classifyToolLine("convert", "    (45.02/100%)")).toEqual({
      type: "percent",
      stage: "convert",
      percent: 45.02,
    });
    expect(classifyToolLine("mmdebstrap", "I: downloading packages with apt...")).toEqual({
      type: "stage",
      stage: "mmdebstrap",
      message: "downloading packages with apt",
    });
    expect(
      classifyToolLine("mmdebstrap", "I: running --customize-hook in shell: sh -c 'x'"),
    ).toMatchObject({ message: "running --customize-hook" });
    expect(
      classifyToolLine("mmdebstrap", "Get:1 http://deb.debian.org bookworm InRelease"),
    ).toMatchObject({ type: "output" });
  });
});

describe("IMAGE_STAGES", () => {
  it("docs/cli.md lists every stage a --json consumer can meet, and no other", async () => {
    const doc = await readFile(new URL("../../../docs/cli.md", import.meta.url), "utf8");
    const section = doc.slice(doc.indexOf("## Image progress"), doc.indexOf("## `strata`"));
    const listed = section
      .slice(section.indexOf("The stages"))
      .match(/`[a-z-]+`/g)
      ?.map((w) => w.slice(1, -1));
    expect(listed).toEqual([...IMAGE_STAGES]);
  });
});

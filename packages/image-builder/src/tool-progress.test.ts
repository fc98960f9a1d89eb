import { describe, expect, it } from "vitest";
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

import { describe, expect, it } from "vitest";
import { RegistryProtocolError } from "./errors.js";
import { parseOciManifest } from "./manifest.js";
import { OCI_MANIFEST } from "./media-types.js";

const D = `sha256:${"b".repeat(64)}`;
const valid = {
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  artifactType: "application/vnd.example",
  config: { mediaType: "application/json", digest: D, size: 2 },
  layers: [{ mediaType: "application/octet-stream", digest: D, size: 10, annotations: { a: "b" } }],
};

describe("parseOciManifest", () => {
  it("accepts a well-formed artifact manifest", () => {
    expect(parseOciManifest(valid)).toBe(valid);
  });

  it.each([
    ["not an object", 5, "not a JSON object"],
    ["schema 1", { ...valid, schemaVersion: 1 }, "schemaVersion"],
    [
      "a docker manifest",
      { ...valid, mediaType: "application/vnd.docker.distribution.manifest.v2+json" },
      "mediaType",
    ],
    [
      "a path as digest",
      { ...valid, layers: [{ mediaType: "x", digest: "../../etc/passwd", size: 1 }] },
      "layers[0].digest",
    ],
    ["a negative size", { ...valid, config: { ...valid.config, size: -1 } }, "config.size"],
    ["a fractional size", { ...valid, config: { ...valid.config, size: 1.5 } }, "config.size"],
    ["non-string annotations", { ...valid, annotations: { a: 1 } }, "annotations"],
    [
      "embedded data that is not a string",
      { ...valid, config: { ...valid.config, data: [1] } },
      "config.data",
    ],
  ])("refuses %s", (_label, json, where) => {
    expect(() => parseOciManifest(json)).toThrow(RegistryProtocolError);
    expect(() => parseOciManifest(json)).toThrow(where);
  });
});

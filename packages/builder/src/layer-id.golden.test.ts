import { describe, expect, it } from "vitest";
import type { BuildContext } from "./build-context.js";
import type { CopyManifestEntry } from "./copy-manifest.js";
import { baseLayerId, copyLayerId, runLayerId } from "./layer-id.js";

// Pins today's hashing: every user's cache is keyed by these IDs, so a change that moves any of
// them invalidates every store. If one fails, the change must be deliberate (say so in the
// changelog) and the new values pasted here. Secrets are left out: their part of the ID is
// keyed separately and may change on its own.
const linux: BuildContext = {
  os: "linux",
  workdir: "/src",
  env: [
    ["PATH", "/usr/local/bin:/usr/bin:/bin"],
    ["LANG", "C.UTF-8"],
  ],
  user: { uid: 1000, gid: 1000 },
  shell: ["/bin/bash", "-c"],
};
const windows: BuildContext = {
  os: "windows",
  workdir: "C:/build",
  env: [],
  user: { name: "ContainerAdministrator" },
  shell: ["cmd", "/S", "/C"],
};

describe("layer IDs (golden)", () => {
  const base = baseLayerId("debian-bookworm");

  it("of a base layer, with and without the image's identity", () => {
    expect(base).toBe("cca8a263e480bcd61998dc58c06b3852ff090ba2721cd4bb2e0b7c9677139af1");
    expect(baseLayerId("debian-bookworm", "size=1073741824;mtime=1700000000000")).toBe(
      "e40a34af9dfbe200a2cdd9c03e0415ee6997603f00465ba73db8e9f951d1febb",
    );
  });

  it("of run layers, restricted and with the host network", () => {
    expect(runLayerId(base, linux, "make -j4 && make install", [], [])).toBe(
      "2ef87cf5b4ec29db7a7f941ccca82c0f3c6128c97505b1e12dc1239ac1b24ec9",
    );
    expect(runLayerId(base, linux, "apt-get update", ["host"], [])).toBe(
      "cb7711efc8a3ad5d6ee4113e1d2495b3032a4c1922e18c1376e61a8b2b3bd936",
    );
    expect(runLayerId(base, windows, "echo hi", [], [])).toBe(
      "921599c151ead4ff108c9cf0ca0965c657b13ee43f75a6885e196c80ed148882",
    );
  });

  it("of copy layers, from the context and from another build", () => {
    const manifest: CopyManifestEntry[] = [
      {
        source: "/ctx/a.txt",
        dest: "/src/a.txt",
        type: "file",
        sha256: "0".repeat(64),
        size: 1,
        executable: false,
      },
      { source: "/ctx/bin", dest: "/src/bin", type: "dir", size: 0, executable: false },
      {
        source: "/ctx/run.sh",
        dest: "/src/run.sh",
        type: "file",
        sha256: "f".repeat(64),
        size: 9,
        executable: true,
      },
      {
        source: "/ctx/link",
        dest: "/src/link",
        type: "symlink",
        linkTarget: "a.txt",
        size: 5,
        executable: false,
      },
    ];
    expect(copyLayerId(base, linux, "/src/", manifest)).toBe(
      "a56622d4a01995073ba56d9707871f7e1f94e155d5b9a7374a6a0ce318751296",
    );
    expect(copyLayerId(base, linux, "/src/", manifest, "tools")).toBe(
      "6670089cc1dc08801b0c14618aa1b4c4721d0e8e23fbd6f1ad6ee4afed9dabb7",
    );
  });
});

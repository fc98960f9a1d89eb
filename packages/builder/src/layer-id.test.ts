import { describe, expect, it } from "vitest";
import { applyOp, initialContext } from "./build-context.js";
import { baseLayerId, copyLayerId, runLayerId } from "./layer-id.js";

const parent = baseLayerId("debian-bookworm");
const ctx = initialContext("linux");

describe("layer IDs", () => {
  it("are 64 hex chars and stable", () => {
    const id = runLayerId(parent, ctx, "make", [], []);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(runLayerId(parent, ctx, "make", [], [])).toBe(id);
  });
  it("change with every input that decides a run's result", () => {
    const id = runLayerId(parent, ctx, "make", [], []);
    const variants = [
      runLayerId(baseLayerId("other"), ctx, "make", [], []),
      runLayerId(parent, ctx, "make all", [], []),
      runLayerId(parent, applyOp(ctx, { op: "workdir", dir: "/x" }), "make", [], []),
      runLayerId(parent, applyOp(ctx, { op: "env", name: "A", value: "1" }), "make", [], []),
      runLayerId(parent, applyOp(ctx, { op: "user", user: { uid: 1, gid: 1 } }), "make", [], []),
      runLayerId(parent, applyOp(ctx, { op: "shell", args: ["/bin/sh", "-c"] }), "make", [], []),
      runLayerId(parent, ctx, "make", ["host"], []),
      runLayerId(parent, ctx, "make", [], [{ id: "s", target: "/run/secrets/s", hmac: "a" }]),
    ];
    expect(new Set([id, ...variants]).size).toBe(variants.length + 1);
  });
  it("ignore network names other than host, and depend on a secret's digest not just its id", () => {
    expect(runLayerId(parent, ctx, "x", ["none"], [])).toBe(runLayerId(parent, ctx, "x", [], []));
    const s = (hmac: string) => [{ id: "s", target: "/t", hmac }];
    expect(runLayerId(parent, ctx, "x", [], s("a"))).not.toBe(
      runLayerId(parent, ctx, "x", [], s("b")),
    );
  });
  it("for copy depend on content hashes and the exec bit", () => {
    const entry = {
      source: "/h/a",
      dest: "/a",
      type: "file" as const,
      size: 1,
      sha256: "x",
      executable: false,
    };
    const a = copyLayerId(parent, ctx, "/a", [entry]);
    expect(copyLayerId(parent, ctx, "/a", [{ ...entry, sha256: "y" }])).not.toBe(a);
    expect(copyLayerId(parent, ctx, "/a", [{ ...entry, executable: true }])).not.toBe(a);
    // The host path it came from does not matter, only what lands in the guest.
    expect(copyLayerId(parent, ctx, "/a", [{ ...entry, source: "/elsewhere/a" }])).toBe(a);
  });
});

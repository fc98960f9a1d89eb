import { describe, expect, it } from "vitest";
import { cacheMount, secretMount, spec } from "./builder.js";
import { SpecError } from "./errors.js";
import { parseSpecOrThrow } from "./parse-spec.js";
import { printSpec } from "./print-spec.js";
import { validateSpec } from "./validate-spec.js";

describe("spec builder", () => {
  it("builds the same spec as the parser", () => {
    const dev = spec()
      .from("ocaml/opam")
      .user({ uid: 1000, gid: 1000 })
      .workdir("/src")
      .run("opam install . --deps-only", {
        cache: [cacheMount("opam", "/cache")],
        network: ["host"],
      });
    const built = spec()
      .stage("dev", dev)
      .from("busybox")
      .shell("/bin/sh", "-c")
      .copy("/src/main.exe", "/usr/local/bin/hello", { from: { build: "dev" } })
      .env("A", "1")
      .comment("done")
      .build();
    const text = `((build dev
        ((from ocaml/opam)
         (user (uid 1000) (gid 1000))
         (workdir /src)
         (run (cache (opam (target /cache)))
              (network host)
              (shell "opam install . --deps-only"))))
 (from busybox)
 (shell /bin/sh -c)
 (copy (from (build dev)) (src /src/main.exe) (dst /usr/local/bin/hello))
 (env A 1)
 (comment done)
)
`;
    expect(printSpec(built)).toBe(text);
    expect(parseSpecOrThrow(text)).toEqual(built);
  });

  it("defaults a secret's target to /run/secrets/ID", () => {
    expect(secretMount("token")).toEqual({
      id: "token",
      target: "/run/secrets/token",
      buildkitOptions: [],
    });
  });

  it("refuses a spec that breaks the rules, with every problem", () => {
    const builder = spec()
      .from("a")
      .copy(["x", "y"], "dst")
      .copy("z", "w", { from: { build: "nope" } });
    expect(() => builder.build()).toThrow(SpecError);
    try {
      builder.build();
    } catch (error) {
      expect((error as SpecError).problems.map((p) => p.message)).toEqual([
        expect.stringContaining('unknown build "nope"'),
      ]);
    }
    // What OBuilder checks only when building is refused too, once the spec parses.
    expect(() => spec().from("a").copy(["x", "y"], "dst").build()).toThrow(/exactly one source/);
  });

  it("refuses a spec without from", () => {
    expect(() => spec().run("x").build()).toThrow(/missing from/);
  });

  it("validateSpec points into the printed spec", () => {
    const problems = validateSpec({
      builds: [],
      from: "a",
      ops: [{ op: "user", user: { uid: -1, gid: 0 } }],
    });
    expect(problems).toEqual([
      {
        file: "<printed spec>",
        line: 2,
        column: 2,
        message: "user: expected a non-negative integer uid, found -1",
      },
    ]);
  });
});

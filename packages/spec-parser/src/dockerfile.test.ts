import { describe, expect, it } from "vitest";
import { printDockerfile } from "./dockerfile.js";
import { DockerfileError } from "./errors.js";
import { parseSpecOrThrow } from "./parse-spec.js";

const multistage = parseSpecOrThrow(`((build dev
        ((from ocaml/opam)
         (user (uid 1000) (gid 1000))
         (workdir /src)
         (run (cache (opam (target /cache) (buildkit_options (sharing locked))))
              (secrets (tok (target /run/secrets/tok)))
              (network host)
              (shell "opam install .\\n  && make"))
         (copy (src a b) (dst ./) (exclude .git))))
 (from busybox)
 (comment "final stage")
 (shell /bin/sh -c)
 (env MSG "say \\"hi\\" \\\\ bye")
 (copy (from (build dev)) (src /src/main.exe) (dst /usr/local/bin/hello))
 (run (shell hello)))`);

describe("printDockerfile", () => {
  it("writes unix output without buildkit: no mounts", () => {
    expect(printDockerfile(multistage)).toBe(`FROM ocaml/opam as dev
USER 1000:1000
WORKDIR /src
RUN opam install . \\
    && make
COPY --chown=1000:1000 a b ./

FROM busybox
# final stage
SHELL [ "/bin/sh", "-c" ]
ENV MSG="say \\"hi\\" \\\\ bye"
COPY --from=dev /src/main.exe /usr/local/bin/hello
RUN hello
`);
  });

  it("writes secrets then caches as --mount with buildkit", () => {
    expect(printDockerfile(multistage, { buildkit: true })).toContain(
      "RUN --mount=type=secret,id=tok,target=/run/secrets/tok,uid=1000 --mount=type=cache,id=opam,target=/cache,uid=1000,sharing=locked opam install . \\\n    && make\n",
    );
  });

  it("writes windows output with the backtick escape", () => {
    const spec = parseSpecOrThrow(`((from win)
 (user (name opam))
 (env P "C:\\\\a \\"b\\" \`x")
 (copy (src a) (dst b))
 (run (shell "a\\nb")))`);
    expect(printDockerfile(spec, { os: "windows" })).toBe(
      '#escape=`\nFROM win\nUSER opam\nENV P="C:\\a `"b`" ``x"\nCOPY a b\nRUN a `\n    b\n',
    );
  });

  it("adds --chown only for a non-root numeric user", () => {
    const spec = parseSpecOrThrow(
      "((from a) (copy (src x) (dst y)) (user (uid 0) (gid 0)) (copy (src x) (dst y)) (user (name bob)) (copy (src x) (dst y)))",
    );
    expect(
      printDockerfile(spec)
        .split("\n")
        .filter((line) => line.startsWith("COPY")),
    ).toEqual(["COPY x y", "COPY x y", "COPY x y"]);
  });

  it("refuses buildkit mounts for a user given by name", () => {
    const spec = parseSpecOrThrow("((from a) (run (cache (c (target /c))) (shell x)))");
    expect(() => printDockerfile(spec, { os: "windows", buildkit: true })).toThrow(DockerfileError);
    expect(printDockerfile(spec, { os: "windows" })).toBe("#escape=`\nFROM a\nRUN x\n");
  });
});

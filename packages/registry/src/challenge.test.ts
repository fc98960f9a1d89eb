import { describe, expect, it } from "vitest";
import { parseChallenges, repositoryScope } from "./challenge.js";

describe("parseChallenges", () => {
  it("reads a bearer challenge with quoted parameters holding commas", () => {
    const [challenge] = parseChallenges(
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
    );
    expect(challenge).toEqual({
      scheme: "bearer",
      params: {
        realm: "https://auth.example/token",
        service: "registry.example",
        scope: "repository:a/b:pull,push",
      },
    });
  });

  it("reads several challenges and unquoted values", () => {
    const challenges = parseChallenges('Basic realm="x y", Bearer realm=https://t/token,service=s');
    expect(challenges.map((c) => c.scheme)).toEqual(["basic", "bearer"]);
    expect(challenges[1]?.params).toEqual({ realm: "https://t/token", service: "s" });
  });

  it("unescapes quoted pairs and returns nothing for an empty header", () => {
    expect(parseChallenges('Basic realm="a \\"b\\""')[0]?.params.realm).toBe('a "b"');
    expect(parseChallenges("")).toEqual([]);
  });
});

describe("repositoryScope", () => {
  it("joins the actions", () => {
    expect(repositoryScope("strata/x", ["pull", "push"])).toBe("repository:strata/x:pull,push");
  });
});

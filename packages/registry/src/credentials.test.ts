import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerConfigCredentials, selectCredentialSource } from "./credentials.js";
import { CredentialHelperError } from "./errors.js";

const auth = (pair: string) => Buffer.from(pair).toString("base64");

describe("selectCredentialSource", () => {
  const config = {
    auths: {
      "https://r.example/v1/": { auth: auth("alice:s3:cret") },
      "plain.example": { username: "bob", password: "pw" },
      "tok.example": { identitytoken: "refresh" },
      "helped.example": { auth: auth("ignored:x") },
    },
    credHelpers: { "helped.example": "pass" },
    credsStore: "desktop",
  };

  it("prefers a per-host helper over an auths entry", () => {
    expect(selectCredentialSource(config, "helped.example")).toEqual({
      kind: "helper",
      helper: "pass",
    });
  });

  it("decodes auths entries written as URLs, with colons in the password", () => {
    expect(selectCredentialSource(config, "r.example")).toEqual({
      kind: "inline",
      credentials: { username: "alice", password: "s3:cret" },
    });
    expect(selectCredentialSource(config, "plain.example")).toEqual({
      kind: "inline",
      credentials: { username: "bob", password: "pw" },
    });
    expect(selectCredentialSource(config, "tok.example")).toEqual({
      kind: "inline",
      credentials: { identityToken: "refresh" },
    });
  });

  it("falls back to the credsStore, then to nothing", () => {
    expect(selectCredentialSource(config, "other.example")).toEqual({
      kind: "helper",
      helper: "desktop",
    });
    expect(selectCredentialSource({}, "other.example")).toBeUndefined();
  });
});

describe("dockerConfigCredentials", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-creds-"));
    // A real credential helper program, as `docker-credential-*` helpers are.
    const helper = join(dir, "docker-credential-strata-test");
    await writeFile(
      helper,
      `#!/bin/sh
read host
case "$host" in
  known.example) echo '{"ServerURL":"known.example","Username":"carol","Secret":"pw1"}' ;;
  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"idt"}' ;;
  broken.example) echo 'boom' >&2; exit 2 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`,
    );
    await chmod(helper, 0o755);
    await writeFile(join(dir, "config.json"), JSON.stringify({ credsStore: "strata-test" }));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("runs the helper and maps its answers", async () => {
    const resolve = dockerConfigCredentials({
      env: { PATH: `${dir}:${process.env.PATH}`, DOCKER_CONFIG: dir },
    });
    expect(await resolve("known.example")).toEqual({ username: "carol", password: "pw1" });
    expect(await resolve("token.example")).toEqual({ identityToken: "idt" });
    expect(await resolve("unknown.example")).toBeUndefined();
    await expect(resolve("broken.example")).rejects.toThrow(CredentialHelperError);
  });

  it("treats a missing config as anonymous", async () => {
    const resolve = dockerConfigCredentials({ configPath: join(dir, "absent.json") });
    expect(await resolve("known.example")).toBeUndefined();
  });
});

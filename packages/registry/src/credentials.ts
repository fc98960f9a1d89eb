import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { boundTail } from "@strata/host-tool";
import { CredentialHelperError, RegistryError } from "./errors.js";

/** What the client sends when a registry asks: a user and password (or an identity token). */
export interface Credentials {
  readonly username?: string;
  readonly password?: string;
  /** An OAuth2 refresh token (`identitytoken` in the Docker config), traded for access tokens. */
  readonly identityToken?: string;
}

/** Finds the credentials for `host[:port]`, or `undefined` to go anonymous. */
export type CredentialResolver = (registry: string) => Promise<Credentials | undefined>;

/** The parts of Docker's `config.json` that name credentials. */
export interface DockerConfig {
  readonly auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string }
  >;
  readonly credHelpers?: Record<string, string>;
  readonly credsStore?: string;
}

/** Where credentials for a host come from, decided from the config alone. */
export type CredentialSource =
  | { readonly kind: "helper"; readonly helper: string }
  | { readonly kind: "inline"; readonly credentials: Credentials }
  | undefined;

/**
 * Picks the credential source for a registry as Docker does: a per-host `credHelpers` entry
 * first, then an `auths` entry (keys may be written as URLs), then the global `credsStore`.
 */
export function selectCredentialSource(config: DockerConfig, registry: string): CredentialSource {
  const helper = config.credHelpers?.[registry];
  if (helper) return { kind: "helper", helper };
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (normaliseAuthKey(key) !== registry) continue;
    const inline = decodeAuthEntry(entry);
    if (inline) return { kind: "inline", credentials: inline };
  }
  if (config.credsStore) return { kind: "helper", helper: config.credsStore };
  return undefined;
}

function normaliseAuthKey(key: string): string {
  // `docker login` has written `https://index.docker.io/v1/` style keys for years.
  return key.replace(/^[a-z]+:\/\//, "").replace(/\/.*$/, "");
}

function decodeAuthEntry(
  entry: NonNullable<DockerConfig["auths"]>[string],
): Credentials | undefined {
  if (entry.identitytoken) {
    return {
      identityToken: entry.identitytoken,
      ...(entry.username ? { username: entry.username } : {}),
    };
  }
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    return undefined;
  }
  if (entry.username && entry.password !== undefined) {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/** Options of {@link dockerConfigCredentials}. */
export interface DockerConfigCredentialsOptions {
  /**
   * The config file to read.
   * @default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`
   */
  readonly configPath?: string;
  /** Environment used to find the config and run helpers. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The path of Docker's config file under the given environment. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), ".docker"), "config.json");
}

/**
 * A resolver reading Docker's config file (absent = anonymous) and running credential helpers
 * (`docker-credential-NAME get`) as every OCI client does.
 */
export function dockerConfigCredentials(
  options: DockerConfigCredentialsOptions = {},
): CredentialResolver {
  const env = options.env ?? process.env;
  const path = options.configPath ?? dockerConfigPath(env);
  return async (registry) => {
    const config = await readDockerConfig(path);
    const source = selectCredentialSource(config, registry);
    if (source === undefined) return undefined;
    if (source.kind === "inline") return source.credentials;
    return runCredentialHelper(source.helper, registry, env);
  };
}

/** Reads a Docker config file; a missing file is an empty config. */
export async function readDockerConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  try {
    return JSON.parse(text) as DockerConfig;
  } catch (cause) {
    throw new RegistryError(
      "REGISTRY_CONFIG_INVALID",
      `${path} is not valid JSON: fix or remove it (it holds the registry credentials).`,
      { cause },
    );
  }
}

/** Runs `docker-credential-HELPER get` with the host on stdin; "not found" is `undefined`. */
export async function runCredentialHelper(
  helper: string,
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(helper)) {
    throw new CredentialHelperError(
      helper,
      registry,
      "the helper name is not a plain program name",
    );
  }
  const { code, stdout, stderr } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
  }>((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, ["get"], { env, stdio: "pipe" });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.on("error", (error) =>
      reject(new CredentialHelperError(helper, registry, (error as Error).message)),
    );
    child.on("close", (exit) => resolve({ code: exit, stdout: out, stderr: err }));
    child.stdin.end(registry);
  });
  if (code !== 0) {
    if (/credentials not found/i.test(stdout + stderr)) return undefined;
    throw new CredentialHelperError(
      helper,
      registry,
      `exit ${code}: ${boundTail((stderr || stdout).trim(), 300)}`,
    );
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(stdout) as { Username?: string; Secret?: string };
  } catch {
    throw new CredentialHelperError(helper, registry, "it printed something that is not JSON");
  }
  if (!parsed.Secret) return undefined;
  // Docker's convention: the user name `<token>` marks the secret as an identity token.
  if (parsed.Username === "<token>") return { identityToken: parsed.Secret };
  return { username: parsed.Username ?? "", password: parsed.Secret };
}

// A real CNCF distribution registry (Debian's `docker-registry`) for tests, on 127.0.0.1 at a
// free port with its own config and storage dir, optionally behind a token service that speaks
// the Docker token flow. Never the packaged config: it listens on every interface.
import { execFile, spawn } from "node:child_process";
import { randomBytes, sign } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { withParentDeath } from "@strata/host-tool";

/** Options of {@link startTestRegistry}. */
export interface TestRegistryOptions {
  /** Users the token service accepts; without any, the registry needs no authentication. */
  readonly users?: Readonly<Record<string, string>>;
  /** Let anonymous clients pull (token service only). @default false */
  readonly anonymousPull?: boolean;
  /** Time to wait for the registry to answer. @default 20_000 */
  readonly startTimeoutMs?: number;
}

/** A running test registry; `await using` stops it and removes its storage. */
export interface TestRegistry extends AsyncDisposable {
  /** `127.0.0.1:PORT`. */
  readonly registry: string;
  readonly port: number;
  readonly storageDir: string;
  /** Token requests the token service answered (scopes asked, user or "" for anonymous). */
  readonly tokenRequests: { user: string; scopes: string[] }[];
  /** Stops the registry process (storage stays until dispose); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startTestRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "strata-registry-"));
  const storageDir = join(dir, "storage");
  const port = await freePort();
  const tokenRequests: { user: string; scopes: string[] }[] = [];
  let tokenServer: Server | undefined;
  let authYaml = "";
  if (options.users) {
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    await promisify(execFile)("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "2",
      "-subj",
      "/CN=strata-test-token",
    ]);
    const key = await readFile(keyPath, "utf8");
    const certDer = pemToDer(await readFile(certPath, "utf8"));
    tokenServer = startTokenServer(
      options.users,
      options.anonymousPull ?? false,
      key,
      certDer,
      tokenRequests,
    );
    await new Promise<void>((resolve) => tokenServer?.listen(0, "127.0.0.1", resolve));
    const tokenPort = (tokenServer.address() as AddressInfo).port;
    authYaml = [
      "auth:",
      "  token:",
      `    realm: http://127.0.0.1:${tokenPort}/token`,
      "    service: strata-test",
      "    issuer: strata-test-issuer",
      `    rootcertbundle: ${certPath}`,
    ].join("\n");
  }
  const configPath = join(dir, "config.yml");
  await writeFile(
    configPath,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${storageDir}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      `  secret: ${randomBytes(16).toString("hex")}`,
      authYaml,
      "",
    ].join("\n"),
  );
  let child: ReturnType<typeof spawn> | undefined;
  let stderr = "";
  const start = async () => {
    stderr = "";
    // Dies with this process (see withParentDeath): a test killed mid-run leaves no registry.
    const proc = spawn(...withParentDeath(["docker-registry", "serve", configPath]), {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child = proc;
    proc.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
    for (;;) {
      if (proc.exitCode !== null)
        throw new Error(`docker-registry exited (${proc.exitCode}): ${stderr}`);
      const ready = await fetch(`http://127.0.0.1:${port}/v2/`).then(
        (r) => r.status === 200 || r.status === 401,
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline)
        throw new Error(`docker-registry did not answer on port ${port}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await start();
  } catch (error) {
    await stop();
    tokenServer?.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    registry: `127.0.0.1:${port}`,
    port,
    storageDir,
    tokenRequests,
    stop,
    start,
    [Symbol.asyncDispose]: async () => {
      await stop();
      if (tokenServer) await new Promise<void>((resolve) => tokenServer?.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function startTokenServer(
  users: Readonly<Record<string, string>>,
  anonymousPull: boolean,
  key: string,
  certDer: Buffer,
  log: { user: string; scopes: string[] }[],
): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const header = req.headers.authorization ?? "";
    let user = "";
    if (header.startsWith("Basic ")) {
      const [name, ...rest] = Buffer.from(header.slice(6), "base64").toString("utf8").split(":");
      if (!name || users[name] !== rest.join(":")) {
        res.writeHead(401).end();
        return;
      }
      user = name;
    }
    const scopes = url.searchParams.getAll("scope");
    log.push({ user, scopes });
    const access = scopes.flatMap((scope) => {
      const [type, name, actions] = scope.split(":");
      if (type !== "repository" || !name || !actions) return [];
      const wanted = actions.split(",");
      const granted = user ? wanted : anonymousPull ? wanted.filter((a) => a === "pull") : [];
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const head = base64url(
      JSON.stringify({ alg: "RS256", typ: "JWT", x5c: [certDer.toString("base64")] }),
    );
    const claims = base64url(
      JSON.stringify({
        iss: "strata-test-issuer",
        sub: user,
        aud: url.searchParams.get("service") ?? "",
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString("hex"),
        access,
      }),
    );
    const signature = base64url(sign("sha256", Buffer.from(`${head}.${claims}`), key));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ token: `${head}.${claims}.${signature}`, expires_in: 300 }));
  });
}

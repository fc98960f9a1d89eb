import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GuestForward } from "@strata/qemu-runner";
import { quotePosix } from "@strata/shell-quote";
import { parsePhoneHome } from "./cloud-init.js";
import { type NoCloudSeed, seedFiles } from "./nocloud-seed.js";

/**
 * Where the guest reaches the service. Clouds use 169.254.169.254, but QEMU's user-mode network
 * (libslirp, QEMU 7.2) refuses a guestfwd outside its virtual network 10.0.2.0/24 ("Conflicting/
 * invalid host:port in guest forwarding rule"), so the service takes a free address inside it;
 * slirp answers ARP for guestfwd addresses, and NoCloud takes any seed URL.
 */
const METADATA_ADDRESS = "10.0.2.254";
/** The URL the guest reaches the service at. */
export const METADATA_URL = `http://${METADATA_ADDRESS}/`;
/**
 * The URL cloud-init's `phone_home` must post to (see `cloudConfig`'s `phoneHomeUrl`) for the
 * service holding `token`: only a post carrying its own boot's token ends a first boot.
 */
function phoneHomeUrl(token: string): string {
  return `${METADATA_URL}phone-home/${token}/$INSTANCE_ID`;
}

interface MetadataRequest {
  method: string;
  path: string;
  status: number;
}

interface StartMetadataServiceOptions {
  /**
   * What to serve. A function gets this boot's phone-home URL (with its token) to put in
   * user-data; a plain seed cannot phone home.
   */
  seed: NoCloudSeed | ((phoneHomeUrl: string) => NoCloudSeed);
  /** Called for every request the guest makes (for progress and debugging). */
  onRequest?: (request: MetadataRequest) => void;
}

/**
 * A host HTTP server the guest reaches at METADATA_ADDRESS:80 through slirp's guestfwd. It
 * listens on a unix socket in a private (0700) directory, not on a TCP port, so no other
 * user's process on the host can read the seed or post to it.
 */
interface MetadataService extends AsyncDisposable {
  /** The unix socket the server listens on (what the relay connects to). */
  readonly socketPath: string;
  /** This boot's random token; see {@link phoneHomeUrl}. */
  readonly token: string;
  /** The seed served (the function's result when one was given). */
  readonly seed: NoCloudSeed;
  /** Pass to `startVm({ guestForwards: [service.guestForward] })`. */
  readonly guestForward: GuestForward;
  /** Resolves with the fields the guest's cloud-init posted when it finished provisioning. */
  readonly phoneHome: Promise<Record<string, string>>;
  readonly requests: readonly MetadataRequest[];
  close(): Promise<void>;
}

// One process per guest connection (slirp's `cmd:` forward, stdin/stdout = the connection),
// relaying to the server. Node is the one program sure to be on the host.
const RELAY = `import { connect } from "node:net";
const s = connect(process.argv[2]);
process.stdin.pipe(s);
s.pipe(process.stdout);
s.on("error", () => process.exit(1));
`;

/**
 * Serves a NoCloud seed over HTTP (`/meta-data`, `/user-data`, `/vendor-data`,
 * `/network-config`) and takes cloud-init's `phone_home` POST, so a builder learns that the first
 * boot finished instead of only waiting for a power-off. Boot the guest with
 * `noCloudUrlCmdline(METADATA_URL)` on its kernel command line (or an image that looks there).
 */
export async function startMetadataService(
  options: StartMetadataServiceOptions,
): Promise<MetadataService> {
  const token = randomBytes(16).toString("hex");
  const seed =
    typeof options.seed === "function" ? options.seed(phoneHomeUrl(token)) : options.seed;
  const files: Record<string, string> = { "vendor-data": "", ...seedFiles(seed) };
  const requests: MetadataRequest[] = [];
  let resolvePhoneHome: (fields: Record<string, string>) => void = () => {};
  const phoneHome = new Promise<Record<string, string>>((r) => {
    resolvePhoneHome = r;
  });
  const reply = (req: IncomingMessage, res: ServerResponse, status: number, body = "") => {
    // The token stays out of progress output.
    const request = {
      method: req.method ?? "?",
      path: (req.url ?? "/").replaceAll(token, "<token>"),
      status,
    };
    requests.push(request);
    options.onRequest?.(request);
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(body);
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (req.method === "POST" && path.startsWith("/phone-home/")) {
      // A post without this boot's token is refused and does not end the first boot.
      if (path.split("/")[2] !== token) {
        req.resume();
        reply(req, res, 403, "wrong token\n");
        return;
      }
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => {
        if (body.length < 65_536) body += c;
      });
      req.on("end", () => {
        reply(req, res, 200, "ok\n");
        resolvePhoneHome(parsePhoneHome(body));
      });
      return;
    }
    const name = path.replace(/^\/+/, "");
    const content = Object.hasOwn(files, name) ? files[name] : undefined;
    if ((req.method === "GET" || req.method === "HEAD") && content !== undefined)
      reply(req, res, 200, content);
    else reply(req, res, 404, "not found\n");
  });
  const relayDir = await mkdtemp(join(tmpdir(), "strata-metadata-"));
  const socketPath = join(relayDir, "http.sock");
  const relay = join(relayDir, "relay.mjs");
  try {
    await writeFile(relay, RELAY);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, resolve);
    });
  } catch (err) {
    await rm(relayDir, { recursive: true, force: true });
    throw err;
  }
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rm(relayDir, { recursive: true, force: true });
    })();
    return closed;
  };
  return {
    socketPath,
    token,
    seed,
    guestForward: {
      address: METADATA_ADDRESS,
      port: 80,
      to: `cmd:${[process.execPath, relay, socketPath].map((w) => quotePosix(w)).join(" ")}`,
    },
    phoneHome,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
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
export const METADATA_ADDRESS = "10.0.2.254";
/** The URL the guest reaches the service at. */
export const METADATA_URL = `http://${METADATA_ADDRESS}/`;
/** Path the guest's `phone_home` posts to (see `cloudConfig`'s `phoneHomeUrl`). */
export const PHONE_HOME_URL = `${METADATA_URL}phone-home/$INSTANCE_ID`;

export interface MetadataRequest {
  method: string;
  path: string;
  status: number;
}

export interface StartMetadataServiceOptions {
  seed: NoCloudSeed;
  /** Called for every request the guest makes (for progress and debugging). */
  onRequest?: (request: MetadataRequest) => void;
}

/** A host HTTP server the guest reaches at METADATA_ADDRESS:80 through slirp's guestfwd. */
export interface MetadataService extends AsyncDisposable {
  /** The host port on 127.0.0.1. */
  readonly port: number;
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
const s = connect(Number(process.argv[2]), "127.0.0.1");
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
  const files: Record<string, string> = { "vendor-data": "", ...seedFiles(options.seed) };
  const requests: MetadataRequest[] = [];
  let resolvePhoneHome: (fields: Record<string, string>) => void = () => {};
  const phoneHome = new Promise<Record<string, string>>((r) => {
    resolvePhoneHome = r;
  });
  const reply = (req: IncomingMessage, res: ServerResponse, status: number, body = "") => {
    const request = { method: req.method ?? "?", path: req.url ?? "/", status };
    requests.push(request);
    options.onRequest?.(request);
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(body);
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (req.method === "POST" && path.startsWith("/phone-home")) {
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
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const relayDir = await mkdtemp(join(tmpdir(), "strata-metadata-"));
  const relay = join(relayDir, "relay.mjs");
  await writeFile(relay, RELAY);
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
    port,
    guestForward: {
      address: METADATA_ADDRESS,
      port: 80,
      to: `cmd:${[process.execPath, relay, String(port)].map((w) => quotePosix(w)).join(" ")}`,
    },
    phoneHome,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}

import { createServer } from "node:net";

/**
 * Asks the kernel for a free TCP port on `host`. Another process can take it before QEMU binds
 * it, so callers retry when QEMU reports "Could not set up host forwarding rule".
 */
export function findFreePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/** QEMU's message when the user-mode network cannot bind a hostfwd port. */
export function isHostForwardFailure(stderr: string): boolean {
  return /Could not set up host forwarding rule/i.test(stderr);
}

import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { findFreePort, isHostForwardFailure } from "./ports.js";

describe("findFreePort", () => {
  it("returns distinct ports that can be bound on 127.0.0.1", async () => {
    const ports = await Promise.all([findFreePort(), findFreePort(), findFreePort()]);
    for (const port of ports) {
      expect(port).toBeGreaterThan(1024);
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", resolve);
      });
      await new Promise((r) => server.close(r));
    }
  });

  it("recognises QEMU's hostfwd failure", () => {
    expect(
      isHostForwardFailure(
        "qemu-system-x86_64: Could not set up host forwarding rule 'tcp:127.0.0.1:22-:22'",
      ),
    ).toBe(true);
    expect(isHostForwardFailure("qemu: could not open disk image")).toBe(false);
  });
});

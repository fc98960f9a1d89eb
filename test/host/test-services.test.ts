// The registry and redis-server that tests start for themselves die with the test process,
// even one killed with SIGKILL (no afterAll runs): nothing of a killed test keeps listening.
// The helpers run from the built packages (`pnpm build`), in a Node child killed here.
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

/** Starts `script` (an ES module printing a port) in a Node child; returns it and the port. */
async function startChild(script: string): Promise<{ kill(): void; port: number }> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`the child exited (${code}): ${out}`)));
  });
  return { kill: () => child.kill("SIGKILL"), port };
}

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function closedWithin(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await listening(port))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe("test services die with the test process", () => {
  it.each([
    [
      "docker-registry",
      `import { startTestRegistry } from "./packages/registry/dist/testing.js";
       const r = await startTestRegistry(); console.log("port " + r.port);`,
    ],
    [
      "redis-server",
      `import { startRedis } from "./packages/fleet/dist/testing.js";
       const r = await startRedis(); console.log("port " + r.port);`,
    ],
  ])(
    "%s stops listening when its test process is SIGKILLed",
    async (_name, script) => {
      const child = await startChild(`${script} setInterval(() => {}, 1000);`);
      expect(await listening(child.port)).toBe(true);
      child.kill();
      expect(await closedWithin(child.port, 5_000)).toBe(true);
    },
    60_000,
  );
});

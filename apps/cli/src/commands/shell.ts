import { bootLayer } from "@strata/builder";
import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { openStoreFor, requireOne, STORE_OPTION } from "./store-options.js";

export const shellCommand = defineCommand({
  name: "shell",
  summary: "an interactive shell in a VM booted from a layer (changes are discarded)",
  synopsis: "[--store=qemu:DIR] [--network] ID",
  maxArguments: 1,
  complete: ["layer"],
  description: `Boots a VM on a throw-away overlay of layer ID (a prefix of 4+ characters will do) and opens an interactive shell in it. Nothing
done there is kept. The session ends when the shell exits.`,
  options: {
    ...STORE_OPTION,
    network: { type: "boolean", help: "give the guest outbound network" },
  },
  async run({ values, positionals }, io) {
    const given = requireOne(positionals, "layer ID", "shell");
    await using store = await openStoreFor(values.store, io);
    const id = store.resolveLayerId(given);
    io.stderr.write(`strata: booting layer ${id.slice(0, 12)}...\n`);
    await using guest = await bootLayer({
      store,
      id,
      network: values.network ? "host" : "restricted",
      signal: io.signal,
    });
    const stdin = process.stdin;
    const tty = stdin.isTTY === true;
    if (tty) stdin.setRawMode(true);
    try {
      const session = await guest.ssh.openShell({
        stdin,
        stdout: process.stdout,
        rows: process.stdout.rows ?? 24,
        cols: process.stdout.columns ?? 80,
      });
      const onResize = () =>
        session.resize(process.stdout.rows ?? 24, process.stdout.columns ?? 80);
      process.stdout.on("resize", onResize);
      // SIGINT/SIGTERM/SIGHUP (a closed terminal): end the session; the VM is disposed below.
      const onStop = () => session.close();
      io.signal.addEventListener("abort", onStop, { once: true });
      const exit = await session.exited.finally(() => {
        process.stdout.off("resize", onResize);
        io.signal.removeEventListener("abort", onStop);
      });
      return exit.exitCode ?? EXIT_OK;
    } finally {
      // After SIGHUP the terminal may be gone: restoring its mode must not stop the clean-up.
      if (tty) {
        try {
          stdin.setRawMode(false);
        } catch {}
      }
      stdin.pause();
    }
  },
});

import { spawn } from "node:child_process";
import { once } from "node:events";
import { rename, rm } from "node:fs/promises";
import { createConnection, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { HostToolMissingError, runHostTool, spawnHostTool } from "@strata/host-tool";
import { QemuStateError } from "./errors.js";
import type { Vm } from "./vm.js";

/** Time to write or load a saved state. @default 300_000 */
const DEFAULT_STATE_TIMEOUT_MS = 300_000;

/** QEMU's `-incoming defer`: start paused, waiting for {@link resumeVmState}. */
export const INCOMING_ARGS: readonly string[] = ["-incoming", "defer"];

interface MigrationInfo {
  status?: string;
  "error-desc"?: string;
}

/** How long a failed QMP call waits to see whether QEMU itself is exiting. */
const EXIT_GRACE_MS = 5_000;

/**
 * Runs `work` against a VM, turning QEMU's exit (a state that fails to load makes QEMU quit)
 * into a QemuStateError. QEMU's QMP socket closes a moment before its exit is noticed, so a
 * QMP failure waits briefly for the exit before it is reported as itself.
 */
async function whileRunning<T>(vm: Vm, what: string, work: Promise<T>): Promise<T> {
  const stateError = (cause?: unknown) => {
    const reason = vm.signal.reason as Error | undefined;
    return new QemuStateError(`QEMU exited while ${what}: ${reason?.message ?? "no message"}`, {
      cause: cause ?? reason,
    });
  };
  const exited = vm.exited.then(() => {
    throw stateError();
  });
  exited.catch(() => {});
  try {
    return await Promise.race([work, exited]);
  } catch (err) {
    if (err instanceof QemuStateError) throw err;
    const gone = await Promise.race([
      vm.exited.then(() => true),
      sleep(EXIT_GRACE_MS).then(() => false),
    ]);
    throw gone ? stateError(err) : err;
  }
}

async function pollMigration(
  vm: Vm,
  what: string,
  timeoutMs: number,
  done: (i: MigrationInfo) => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await vm.qmp.execute<MigrationInfo>("query-migrate");
    if (done(info)) return;
    if (info.status === "failed" || info.status === "cancelled")
      throw new QemuStateError(`${what} failed: ${info["error-desc"] ?? info.status}`);
    if (Date.now() > deadline)
      throw new QemuStateError(`${what} did not finish within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

/** Where {@link dumpVmState} writes the uncompressed state that becomes `path`. */
export const rawStatePath = (path: string): string => `${path}.raw`;

/**
 * Pauses the guest and writes its memory and device state, uncompressed, to `raw`. The guest is
 * paused only while the page cache takes the stream (about 0.25 s for 200 MiB here, against
 * 0.6-0.8 s through zstd), and {@link compressVmState} then runs while the guest goes on. The
 * VM stays paused with its disks handed over: quit it after, or `cont` to let it run on (the
 * disks come back). The disk is not in the state: resume on an overlay of exactly the disk the
 * VM had here.
 *
 * The stream goes through a unix socket in the VM's run directory into `dd`, which this
 * process starts, not QEMU: QEMU 7.2 has no file: URI, and its exec: URI forks QEMU, after
 * which each page QEMU writes faults once more (copy-on-write of its own memory: ~7,500
 * faults, 0.15-0.3 s, in the guest's next command under TCG here).
 *
 * A plain migration of the paused guest, not QEMU's `background-snapshot`: that one lets the
 * guest run again as soon as it starts (even one paused before), so the disk goes on changing
 * under the saved memory, and it copies about 5x slower here (userfaultfd write protection).
 */
export async function dumpVmState(
  vm: Vm,
  raw: string,
  timeoutMs = DEFAULT_STATE_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // The stream is written aside and renamed once `dd` has ended well: `raw` is whole or absent.
  const part = `${raw}.part`;
  const socketPath = join(vm.runDir, MIGRATION_SOCKET);
  await rm(socketPath, { force: true });
  // pauseOnConnect: this process never reads the connection; `dd` gets all of it.
  const server = createServer({ pauseOnConnect: true });
  const writer = once(server, "connection").then(([connection]: Socket[]) => {
    server.close();
    return receiveStream(connection!, part).catch((error: Error) => {
      // QEMU's write then fails, and the migration with it.
      connection!.destroy();
      throw new QemuStateError(`writing ${raw}: ${error.message}`, { cause: error });
    });
  });
  writer.catch(() => {});
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, resolve);
    });
    await whileRunning(
      vm,
      `saving its state to ${raw}`,
      (async () => {
        await vm.qmp.execute("stop");
        // The default bandwidth cap (128 MiB/s) only makes sense across a network.
        await vm.qmp.execute("migrate-set-parameters", { "max-bandwidth": 64 * 2 ** 30 });
        await vm.qmp.execute("migrate", { uri: `unix:${socketPath}` });
        await pollMigration(
          vm,
          "saving the VM state",
          timeoutMs,
          (i) => i.status === "completed",
        ).catch(async (error: unknown) => {
          // The writer's own failure (a full disk) says more than QEMU's broken pipe.
          const failure = writer.then(
            () => error,
            (why: unknown) => why,
          );
          throw await Promise.race([failure, sleep(1000).then(() => error)]);
        });
        // dd has had QEMU's last bytes: it needs moments to end, not the whole timeout.
        const wait = Math.max(0, Math.min(deadline, Date.now() + WRITER_END_MS) - Date.now());
        const timer = new AbortController();
        await Promise.race([
          writer.finally(() => timer.abort()),
          sleep(wait, undefined, { signal: timer.signal }).then(
            () => {
              throw new QemuStateError(
                `saving the VM state: its writer did not end within ${wait / 1000} s of QEMU's last byte`,
              );
            },
            () => {},
          ),
        ]);
        await rename(part, raw).catch((error: Error) => {
          throw new QemuStateError(`writing ${raw}: ${error.message}`, { cause: error });
        });
      })(),
    );
  } catch (error) {
    // An older stream under that name (a killed build's) is no use either.
    await rm(raw, { force: true }).catch(() => {});
    throw error;
  } finally {
    server.close();
    await Promise.all([rm(part, { force: true }), rm(socketPath, { force: true })]);
  }
}

/** The migration stream's socket, in the VM's run directory (a short path, and only ours). */
const MIGRATION_SOCKET = "migration.sock";

/** Writes what QEMU sends on `connection` into `file`: `dd` reads the socket itself. */
async function receiveStream(connection: Socket, file: string): Promise<void> {
  const dd = await spawnHostTool("dd", [`of=${file}`, "bs=1M", "status=none"], {
    stdin: connection,
  });
  connection.destroy();
  await dd.done;
}

/**
 * Compresses a state written by {@link dumpVmState} into `path` (zstd, written aside and
 * renamed, so `path` is whole or absent) and removes `raw`, also when it fails or `signal`
 * cancels it. Runs beside the guest: nothing here touches the VM.
 */
export async function compressVmState(
  raw: string,
  path: string,
  signal?: AbortSignal,
): Promise<void> {
  const part = `${path}.part`;
  try {
    // At the lowest priority, on one thread: the guest it runs beside comes first.
    const zstd = ["-n", "19", "zstd", "-q", "-1", "-T1", "-f", "-o", part, "--", raw];
    await runHostTool("nice", zstd, { signal });
    await rename(part, path);
  } catch (error) {
    await rm(part, { force: true });
    if (error instanceof HostToolMissingError || signal?.aborted) throw error;
    const why = (error as Error).message;
    throw new QemuStateError(`compressing the VM state ${raw} failed: ${why}`, { cause: error });
  } finally {
    await rm(raw, { force: true }).catch(() => {});
  }
}

/** How long the writer may take to end after QEMU reports the migration complete. */
const WRITER_END_MS = 30_000;

/**
 * Loads a state written by {@link dumpVmState} and {@link compressVmState} into a VM started
 * with {@link INCOMING_ARGS} and the same devices, and lets the guest continue. A corrupt or mismatched file makes QEMU exit: that
 * is a {@link QemuStateError}, and the VM is gone.
 */
export async function resumeVmState(
  vm: Vm,
  path: string,
  timeoutMs = DEFAULT_STATE_TIMEOUT_MS,
): Promise<void> {
  await whileRunning(
    vm,
    `loading the state in ${path}`,
    (async () => {
      // QEMU listens; zstd, started here (not forked from QEMU, see dumpVmState), writes the
      // stream straight into the connection.
      const socketPath = join(vm.runDir, MIGRATION_SOCKET);
      await rm(socketPath, { force: true });
      await vm.qmp.execute("migrate-incoming", { uri: `unix:${socketPath}` });
      const connection = createConnection(socketPath);
      await new Promise<void>((resolve, reject) => {
        connection.once("connect", resolve);
        connection.once("error", (error) =>
          reject(new QemuStateError(`could not reach QEMU's incoming migration: ${error.message}`)),
        );
      });
      // A zstd that fails (a corrupt file) or never starts ends the stream, and QEMU's load with
      // it: that is the QemuStateError, from whileRunning. Its own exit says nothing more.
      spawn("zstd", ["-q", "-dc", "--", path], { stdio: ["ignore", connection, "ignore"] }).on(
        "error",
        () => {},
      );
      connection.destroy();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { status } = await vm.qmp.execute<{ status: string }>("query-status");
        if (status === "running") return;
        // Without -S the guest starts by itself when the load completes; "paused" means it will not.
        if (status === "paused" || status === "postmigrate") {
          await vm.qmp.execute("cont");
          return;
        }
        if (Date.now() > deadline)
          throw new QemuStateError(`loading ${path} did not finish within ${timeoutMs / 1000} s`);
        await sleep(50);
      }
    })(),
  );
}

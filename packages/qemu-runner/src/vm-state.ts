import { readFile, rename, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { HostToolMissingError, runHostTool } from "@strata/host-tool";
import { quotePosix } from "@strata/shell-quote";
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
 * Pauses the guest and writes its memory and device state, uncompressed, to `raw` (through
 * QEMU's exec: migration, since QEMU 7.2 has no file: URI). The guest is paused only while the
 * page cache takes the stream (about 0.25 s for 200 MiB here, against 0.6-0.8 s through zstd),
 * and {@link compressVmState} then runs while the guest goes on. The VM stays paused with its
 * disks handed over: quit it after, or `cont` to let it run on (the disks come back). The disk
 * is not in the state: resume on an overlay of exactly the disk the VM had here.
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
  // QEMU reports the migration complete once it has written the stream, which may be before
  // `cat` has written its last bytes: cat writes `.part`, renamed to `raw` when it exits 0, and
  // the status of the two lands in `.status`, which is waited for.
  const part = `${raw}.part`;
  const status = `${raw}.status`;
  const leftovers = () => Promise.all([rm(part, { force: true }), rm(status, { force: true })]);
  await leftovers();
  try {
    await whileRunning(
      vm,
      `saving its state to ${raw}`,
      (async () => {
        await vm.qmp.execute("stop");
        // The default bandwidth cap (128 MiB/s) only makes sense across a network.
        await vm.qmp.execute("migrate-set-parameters", { "max-bandwidth": 64 * 2 ** 30 });
        const [p, f, s] = [part, raw, status].map(quotePosix);
        await vm.qmp.execute("migrate", {
          uri: `exec:cat >${p} && mv -f -T ${p} ${f}; echo $? >${s}`,
        });
        await pollMigration(vm, "saving the VM state", timeoutMs, (i) => i.status === "completed");
        // cat has had QEMU's last bytes: it needs moments to end, not the whole timeout.
        const exit = await waitForStatus(status, Math.min(deadline, Date.now() + WRITER_END_MS));
        if (exit !== 0)
          throw new QemuStateError(`saving the VM state failed: writing ${raw} exited ${exit}`);
      })(),
    );
  } catch (error) {
    // An older stream under that name (a killed build's) is no use either.
    await rm(raw, { force: true }).catch(() => {});
    throw error;
  } finally {
    await leftovers();
  }
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

/** The exit status the save's pipeline wrote to `file` (a line, once it has ended). */
async function waitForStatus(file: string, deadline: number): Promise<number> {
  for (;;) {
    const text = await readFile(file, "utf8").catch(() => "");
    if (text.endsWith("\n")) return Number(text.trim());
    if (Date.now() > deadline)
      throw new QemuStateError(
        `saving the VM state: its writer did not end within ${WRITER_END_MS / 1000} s of QEMU's last byte`,
      );
    await sleep(20);
  }
}

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
      await vm.qmp.execute("migrate-incoming", { uri: `exec:zstd -q -dc ${quotePosix(path)}` });
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

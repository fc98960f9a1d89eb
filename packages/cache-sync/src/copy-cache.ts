import { rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import {
  extractTar,
  packDirectory,
  type RunAs,
  type SshSession,
  TarRefusedError,
} from "@strata/ssh-transport";
import { BaseCacheHandle, type CacheHandle } from "./cache-handle.js";
import { countBytes } from "./events.js";
import {
  clearCopyTargetCommand,
  extractCommand,
  packCommand,
  prepareCopyTargetCommand,
} from "./guest-commands.js";

/** In a checkout directory (copy strategy): the version sent in, and what came back. */
export const TREE_DIR = "tree";
const BACK_DIR = "back";

/** The copy strategy: a tar stream over SSH in before the step, and back after it. */
export class CopyCache extends BaseCacheHandle implements CacheHandle {
  readonly strategy = "copy";
  readonly drive = undefined;
  #attached = false;

  async attach(ssh: SshSession, owner: RunAs): Promise<void> {
    const { target, signal } = this.c;
    await ssh.exec(prepareCopyTargetCommand(ssh.dialect, target, owner), {
      raw: true,
      check: true,
      signal,
    });
    const counter = countBytes((bytes, done) => this.#progress("in", bytes, done));
    // pipeline destroys the counter if packing fails, which fails the exec (SSH_TRANSFER_FAILED).
    pipeline(packDirectory(join(this.c.checkout.dir, TREE_DIR)), counter).catch(() => {});
    await ssh.exec(extractCommand(ssh.dialect, target, owner), {
      raw: true,
      check: true,
      stdin: counter,
      signal,
    });
    this.#attached = true;
  }

  async detach(ssh: SshSession): Promise<void> {
    // Never fully sent in: what the target holds is not the cache, so it must not come back.
    if (!this.#attached) return;
    const { target, signal } = this.c;
    const back = join(this.c.checkout.dir, BACK_DIR);
    await rm(back, { recursive: true, force: true });
    const counter = countBytes((bytes, done) => this.#progress("out", bytes, done));
    // The stream is the guest's: extractTar refuses links it would write through, entries outside
    // `back`, devices, and more than the cache's limits; `back` is fresh, so nothing else is in it.
    const consumer = extractTar(counter, back, this.c.copyLimits);
    // A refused stream stops the guest's side at once (it could send gigabytes more), and the
    // refusal is the error reported, not the cancelled command it causes.
    const stop = new AbortController();
    const refused = consumer.then(
      () => undefined,
      (e: unknown) => {
        stop.abort(e);
        return e;
      },
    );
    try {
      await ssh.exec(packCommand(ssh.dialect, target), {
        raw: true,
        check: true,
        stdout: counter,
        maxBuffer: 0,
        signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
      });
      counter.end();
      await consumer;
    } catch (error) {
      counter.destroy();
      const refusal = await refused;
      throw refusal instanceof TarRefusedError ? refusal : error;
    }
    this.completed = true;
    // The cache is safe on the host now: empty the target so the layer does not keep a copy.
    const clear = await ssh
      .exec(clearCopyTargetCommand(ssh.dialect, target), { raw: true, signal })
      .catch((e: Error) => ({ exitCode: undefined, stderr: e.message }));
    if (clear.exitCode !== 0) {
      this.c.emit({
        type: "warning",
        cache: this.id,
        message: `could not empty ${target} in the guest: ${clear.stderr.trim()}`,
      });
    }
  }

  async build(): Promise<string> {
    return join(this.c.checkout.dir, BACK_DIR);
  }

  #progress(direction: "in" | "out", bytes: number, done: boolean): void {
    this.c.emit({ type: "transfer", cache: this.id, direction, bytes, done });
  }
}

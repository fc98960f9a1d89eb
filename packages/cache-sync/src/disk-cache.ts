import { join } from "node:path";
import type { DriveSpec } from "@strata/qemu-runner";
import type { RunAs, SshSession } from "@strata/ssh-transport";
import { BaseCacheHandle, type CacheHandle, type HandleContext } from "./cache-handle.js";
import { mountDiskCommand, unmountDiskCommand } from "./guest-commands.js";
import { buildNextDisk, OVERLAY_DISK } from "./host-tools.js";

/** The disk strategy: the step writes to a qcow2 overlay on the cache's ext4 disk. */
export class DiskCache extends BaseCacheHandle implements CacheHandle {
  readonly strategy = "disk";
  readonly drive: DriveSpec;
  readonly #uuid: string;
  #attached = false;

  constructor(context: HandleContext, uuid: string) {
    super(context);
    this.#uuid = uuid;
    this.drive = {
      path: join(context.checkout.dir, OVERLAY_DISK),
      format: "qcow2",
      interface: "virtio",
    };
  }

  async attach(ssh: SshSession, owner: RunAs): Promise<void> {
    const fresh = this.c.generation === 0;
    await ssh.exec(mountDiskCommand(this.#uuid, this.target, owner, fresh), {
      raw: true,
      check: true,
      signal: this.c.signal,
    });
    this.#attached = true;
    this.c.emit({ type: "mounted", cache: this.id, target: this.target });
  }

  async detach(ssh: SshSession): Promise<void> {
    // Never mounted: nothing was written, and there is nothing to commit.
    if (!this.#attached) return;
    await ssh.exec(unmountDiskCommand(this.target), {
      raw: true,
      check: true,
      signal: this.c.signal,
    });
    this.#attached = false;
    this.completed = true;
    this.c.emit({ type: "unmounted", cache: this.id, target: this.target });
  }

  build(signal?: AbortSignal): Promise<string> {
    return buildNextDisk(this.c.checkout.dir, signal);
  }
}

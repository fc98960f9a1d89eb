import type { DriveSpec } from "@strata/qemu-runner";
import type { ExtractTarOptions, RunAs, SshSession } from "@strata/ssh-transport";
import type { CacheCheckout } from "@strata/store";
import type { CacheEvent } from "./events.js";
import type { CacheStrategy } from "./strategy.js";

/** One cache checked out for one step (internal; {@link StepCaches} drives these). */
export interface CacheHandle {
  readonly id: string;
  readonly target: string;
  readonly strategy: CacheStrategy;
  /** The version checked out; 0 for a new cache. */
  readonly generation: number;
  readonly checkout: CacheCheckout;
  /** The drive to give QEMU (disk strategy). */
  readonly drive: DriveSpec | undefined;
  /** True once detach brought the copy back whole: only then may it be committed. */
  readonly complete: boolean;
  attach(ssh: SshSession, owner: RunAs): Promise<void>;
  detach(ssh: SshSession): Promise<void>;
  /** Builds the next version inside the checkout and returns its path (a tree or a qcow2). */
  build(signal?: AbortSignal): Promise<string>;
}

export interface HandleContext {
  id: string;
  target: string;
  generation: number;
  checkout: CacheCheckout;
  /** Bounds on what a copy cache may bring back. */
  copyLimits: ExtractTarOptions;
  emit: (event: CacheEvent) => void;
  signal: AbortSignal | undefined;
}

/** What both strategies' handles share: the checkout's facts, and whether it came back whole. */
export abstract class BaseCacheHandle {
  protected readonly c: HandleContext;
  protected completed = false;

  constructor(context: HandleContext) {
    this.c = context;
  }
  get id(): string {
    return this.c.id;
  }
  get target(): string {
    return this.c.target;
  }
  get generation(): number {
    return this.c.generation;
  }
  get checkout(): CacheCheckout {
    return this.c.checkout;
  }
  get complete(): boolean {
    return this.completed;
  }
}

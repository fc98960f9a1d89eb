import type { CacheEvent } from "@strata/cache-sync";

/**
 * What a step is doing, for live progress, in the order a step goes through them: its VM
 * `booting` cold or `resuming` a saved state, `waiting-for-ssh` until the guest answers,
 * `running` the command, `copying` files in, `saving` the layer (VM state saved or guest
 * powered off).
 */
export const STEP_PHASES = [
  "booting",
  "resuming",
  "waiting-for-ssh",
  "running",
  "copying",
  "saving",
] as const;
export type StepPhase = (typeof STEP_PHASES)[number];

/**
 * Why a step's VM booted cold instead of resuming its parent layer's saved state:
 * `no-state` (the parent has none), `state-meta-invalid` (its record is not JSON),
 * `state-missing` (the record is there, the state file not), `other-machine` (saved with
 * another accelerator, memory, CPU count... `differs` says which and how), `no-cache`
 * (`--no-cache` resumes only states the build itself saved).
 */
export type ColdBootReason =
  | { code: "no-state" | "state-meta-invalid" | "state-missing" | "no-cache" }
  | {
      code: "other-machine";
      differs: { key: string; saved: string | number | null; now: string | number }[];
    };

/**
 * How a step's VM started: `booted` cold (`reason`: why not resumed, when a resume was tried),
 * `resumed` from the parent layer's saved state, or `continued` (the stage's VM kept running:
 * paused at the end of the previous step in `parkMs`, the parent's disk cut by a live snapshot in
 * `snapshotMs`, its memory written in `stateMs` when kept, then compressed beside the step).
 * `ms`: from the step's start until the
 * guest was ready. `powered-off`: the VM was shut down without saving its state (`reason`
 * `secrets`: its RAM may hold them), in `ms`.
 */
export type VmEvent =
  | { type: "vm"; how: "booted"; ms: number; reason?: ColdBootReason }
  | { type: "vm"; how: "resumed"; ms: number }
  | {
      type: "vm";
      how: "continued";
      ms: number;
      parkMs?: number;
      snapshotMs?: number;
      stateMs?: number;
    }
  | { type: "vm"; how: "powered-off"; ms: number; reason: "secrets" };

/** A cache-sync event (warnings aside, which are `warning`s) as a build event: its `type` is `action`. */
type AsCacheProgress<E> = E extends { type: infer A }
  ? { type: "cache"; action: A } & Omit<E, "type">
  : never;
export type CacheProgressEvent = AsCacheProgress<Exclude<CacheEvent, { type: "warning" }>>;

/** What a build reports as it goes; the CLI renders these in OBuilder's form. */
export type BuildEvent =
  /**
   * A step starts: OBuilder prints `<workdir>: <op>`. `index` counts the build's steps from 0
   * across all stages, `(from ...)` included.
   */
  | { type: "step"; index: number; stage: string | undefined; workdir: string; op: string }
  /** The running step entered a new phase. */
  | { type: "phase"; phase: StepPhase }
  /** The step's output, live or replayed from the cache. */
  | { type: "output"; chunk: Buffer }
  | { type: "saved"; id: string }
  /** The step's layer was there already; `pulled`: it came from the registry just now. */
  | { type: "cached"; id: string; pulled?: boolean }
  /** What happened to the step's VM: how it started, or that it was powered off. */
  | VmEvent
  /** A mutable cache of the step: checked out, transferred, mounted, committed. */
  | CacheProgressEvent
  /** Layers moved to or from the registry: `layers` of them, the chain ending in `id`. */
  | { type: "transfer"; direction: "pull" | "push"; layers: number; id: string }
  /** A `(comment ...)` of the spec, reached in order. */
  | { type: "comment"; text: string }
  | { type: "warning"; message: string }
  | { type: "done"; id: string };

export type BuildEventListener = (event: BuildEvent) => void;

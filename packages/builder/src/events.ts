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
  /**
   * How a step's VM started: `booted` cold, `resumed` from the parent layer's saved state, or
   * `continued` (the stage's VM kept running: paused at the end of the previous step in
   * `parkMs`, the parent's disk cut by a live snapshot in `snapshotMs`, its memory saved in
   * `stateMs` when kept). `ms`: from the step's start until the guest was ready.
   */
  | {
      type: "vm";
      how: "booted" | "resumed" | "continued";
      ms: number;
      parkMs?: number;
      snapshotMs?: number;
      stateMs?: number;
    }
  /** Detail for verbose output: VM started, SSH up, shutdown, caches... */
  | { type: "info"; message: string }
  | { type: "warning"; message: string }
  | { type: "done"; id: string };

export type BuildEventListener = (event: BuildEvent) => void;

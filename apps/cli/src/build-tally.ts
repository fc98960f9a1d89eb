import type { BuildEvent, StepPhase } from "@strata/builder";

/** The step a build is on, as progress shows it. */
export interface CurrentStep {
  readonly index: number;
  /** `[stage] workdir: op`, OBuilder's heading. */
  readonly label: string;
  readonly startedAt: number;
  phase: StepPhase | undefined;
}

/** What a build did, for the summary line and `--json`'s `done` event. */
interface BuildCounts {
  built: number;
  cached: number;
  pulled: number;
}

const PHASE_WORDS: Record<StepPhase, string> = {
  booting: "booting",
  resuming: "resuming",
  "waiting-for-ssh": "waiting for SSH",
  running: "running",
  copying: "copying",
  saving: "saving",
};

/** A phase as people read it: "waiting for SSH". */
export function describePhase(phase: StepPhase): string {
  return PHASE_WORDS[phase];
}

/** `4.2 s` under a minute, `3m07s` above. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.floor(s);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
}

/** The summary a build ends with: `3 steps built, 2 cached, 1 pulled in 1m05s`. */
export function formatSummary(counts: BuildCounts, ms: number): string {
  const steps = counts.built === 1 ? "step" : "steps";
  return `${counts.built} ${steps} built, ${counts.cached} cached, ${counts.pulled} pulled in ${formatDuration(ms)}`;
}

/** What a step-ending event means to the tally: the step and how long it took. */
export interface StepEnd {
  readonly step: CurrentStep;
  readonly durationMs: number;
}

/**
 * Follows one build's events (pure, given a clock): the current step and phase, each step's
 * duration and the counts for the summary. Starts over after `done` or {@link reset}, so a
 * `--watch` rebuild gets its own.
 */
export class BuildTally {
  current: CurrentStep | undefined;
  counts: BuildCounts = { built: 0, cached: 0, pulled: 0 };
  #startedAt: number | undefined;

  constructor(private readonly now: () => number) {}

  /** Time since the build's first event. */
  elapsed(): number {
    return this.#startedAt === undefined ? 0 : this.now() - this.#startedAt;
  }

  /** Records `e`; for `saved` and `cached`, returns the step it ended and its duration. */
  record(e: BuildEvent): StepEnd | undefined {
    this.#startedAt ??= this.now();
    switch (e.type) {
      case "step":
        this.current = {
          index: e.index,
          label: `${e.stage ? `[${e.stage}] ` : ""}${e.workdir}: ${e.op}`,
          startedAt: this.now(),
          phase: undefined,
        };
        return undefined;
      case "phase":
        if (this.current) this.current.phase = e.phase;
        return undefined;
      case "saved":
      case "cached": {
        if (e.type === "saved") this.counts.built++;
        else if (e.pulled) this.counts.pulled++;
        else this.counts.cached++;
        const step = this.current;
        this.current = undefined;
        return step && { step, durationMs: this.now() - step.startedAt };
      }
      default:
        return undefined;
    }
  }

  /** Forgets the build: the next event starts a new one. */
  reset(): void {
    this.current = undefined;
    this.counts = { built: 0, cached: 0, pulled: 0 };
    this.#startedAt = undefined;
  }
}

/**
 * The live status line of the running step, cut to `width` columns (the phase and time always
 * shown): `#3 /src: (run (shell "make")) · running · 12 s`.
 */
export function formatStatusLine(step: CurrentStep, now: number, width: number): string {
  const phase = step.phase ? describePhase(step.phase) : "starting";
  const seconds = Math.floor(Math.max(0, now - step.startedAt) / 1000);
  const suffix = ` · ${phase} · ${seconds} s`;
  const head = `#${step.index} ${step.label.replace(/\s+/g, " ")}`;
  const room = Math.max(0, width - 1 - suffix.length);
  const cut = head.length > room ? `${head.slice(0, Math.max(0, room - 1))}…` : head;
  return `${cut}${suffix}`;
}

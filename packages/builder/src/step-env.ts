import type { CacheStrategy } from "@strata/cache-sync";
import type { ImageManifest } from "@strata/qemu-runner";
import type { Store } from "@strata/store";
import type { BuildEventListener } from "./events.js";
import type { MachineOptions } from "./guest.js";
import type { LiveSession } from "./live-session.js";
import type { RegistryLink } from "./registry-link.js";
import type { SecretValues } from "./secrets.js";
import type { StateWriter } from "./state-writer.js";
import type { MachineIdentity } from "./warm-state.js";

/** What every step of one build shares. */
export interface StepEnv {
  readonly store: Store;
  readonly manifest: ImageManifest;
  readonly privateKeyPath: string;
  readonly machine: MachineOptions;
  readonly secrets: SecretValues;
  readonly cacheStrategy: CacheStrategy | "auto";
  /** Largest a cache may be (see RunBuildOptions.cacheMaxBytes); undefined: cache-sync's default. */
  readonly cacheMaxBytes: number | undefined;
  readonly stepTimeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly emit: BuildEventListener;
  /** Resume steps from their parent's saved VM state where possible, and save each step's. */
  readonly warm: "auto" | "off";
  /** Keep saved states only for the last N layers of a chain. @default all */
  readonly warmKeep: number | undefined;
  /** The stage's VM between steps (`warm: "auto"`). */
  readonly live: LiveSession;
  /** Saved states still being finished: a resume waits for its layer's. */
  readonly states: StateWriter;
  /** The machine a saved state must match, worked out once per build. */
  readonly identity: () => Promise<MachineIdentity>;
  /** The registry used as a shared cache (`--registry`), if any. */
  readonly registry: RegistryLink | undefined;
  /**
   * `--no-cache`: every step not yet built by this build runs again (no registry pull, no
   * cached layer) and replaces the cached one; a step resumes only VM states this build saved.
   */
  readonly noCache: boolean;
  /** Layers this build ran (not found cached): with `noCache`, these count as cached. */
  readonly built: Set<string>;
}

/** Whether step `id` must run again although it may be cached (`--no-cache`). */
export function mustRebuild(env: StepEnv, id: string): boolean {
  return env.noCache && !env.built.has(id);
}

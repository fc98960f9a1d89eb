import {
  pullLayers,
  pushLayers,
  type StateFiles,
  type TransferEventListener,
} from "@strata/layer-transfer";
import { type RegistryClient, RegistryError } from "@strata/registry";
import type { Store } from "@strata/store";
import type { BuildEventListener } from "./events.js";
import { STATE_FILE, STATE_META } from "./warm-state.js";

/** How a build uses a registry as a shared cache (`strata build --registry`). */
export interface BuildRegistryOptions {
  readonly client: RegistryClient;
  readonly repository: string;
  /** Look missing layers up before building them, push built ones, or both. @default "both" */
  readonly mode?: "pull" | "push" | "both";
  /** Move saved VM states with the layers (`--registry-states`). @default false */
  readonly states?: boolean;
  /** Receives push and pull progress. */
  readonly onTransfer?: TransferEventListener;
}

/**
 * The build's side of a registry: before a step, pull its layer (and missing ancestors) if the
 * registry has it; after a step, push it. Every registry problem becomes a warning and a cache
 * miss, never a failed build; once the registry proves unreachable the build stops asking it.
 */
export class RegistryLink {
  readonly #options: BuildRegistryOptions;
  readonly #store: Store;
  readonly #emit: BuildEventListener;
  readonly #signal: AbortSignal | undefined;
  /** Layers known to be in the registry: their chains need no more `HEAD`s. */
  readonly #known = new Set<string>();
  #down = false;

  constructor(
    options: BuildRegistryOptions,
    store: Store,
    emit: BuildEventListener,
    signal?: AbortSignal,
  ) {
    this.#options = options;
    this.#store = store;
    this.#emit = emit;
    this.#signal = signal;
  }

  get #states(): StateFiles | undefined {
    return this.#options.states ? { state: STATE_FILE, meta: STATE_META } : undefined;
  }

  /**
   * Before a step: brings layer `id` from the registry when the store lacks it. Resolves to
   * whether it did (the step is then a cache hit).
   */
  async pull(id: string): Promise<boolean> {
    const mode = this.#options.mode ?? "both";
    if (this.#down || mode === "push" || this.#store.lookup(id)) return false;
    let got = false;
    await this.#guard(
      `pulling layer ${id}`,
      async () => {
        const pulled = await pullLayers(
          this.#store,
          this.#options.client,
          this.#options.repository,
          id,
          {
            ...this.#common(),
          },
        );
        for (const layer of pulled) this.#known.add(layer);
        got = this.#store.lookup(id) !== undefined;
        if (pulled.length > 0)
          this.#emit({ type: "transfer", direction: "pull", layers: pulled.length, id });
      },
      true,
    );
    return got;
  }

  /** After a step: pushes layer `id` and whatever of its chain the registry lacks. */
  async push(id: string): Promise<void> {
    const mode = this.#options.mode ?? "both";
    if (this.#down || mode === "pull" || this.#known.has(id)) return;
    await this.#guard(
      `pushing layer ${id}`,
      async () => {
        const pushed = await pushLayers(
          this.#store,
          this.#options.client,
          this.#options.repository,
          id,
          {
            ...this.#common(),
            known: this.#known,
          },
        );
        if (pushed.length > 0)
          this.#emit({ type: "transfer", direction: "push", layers: pushed.length, id });
      },
      false,
    );
  }

  #common() {
    return {
      ...(this.#states ? { states: this.#states } : {}),
      ...(this.#signal ? { signal: this.#signal } : {}),
      ...(this.#options.onTransfer ? { onEvent: this.#options.onTransfer } : {}),
    };
  }

  async #guard(what: string, fn: () => Promise<void>, missIsQuiet: boolean): Promise<void> {
    try {
      await fn();
    } catch (error) {
      if (this.#signal?.aborted) throw error;
      const code = (error as { code?: string }).code;
      if (missIsQuiet && code === "ARTIFACT_NOT_FOUND") return;
      const unreachable = code === "REGISTRY_UNREACHABLE" || code === "REGISTRY_TIMEOUT";
      if (unreachable) this.#down = true;
      const reason = error instanceof Error ? error.message : String(error);
      const fallback = unreachable
        ? "the build goes on without the registry"
        : what.startsWith("pulling")
          ? "the step is built here instead"
          : "the layer stays local";
      this.#emit({
        type: "warning",
        message: `registry: ${what} failed (${reason}); ${fallback}.`,
      });
      if (!(error instanceof RegistryError) && !code) throw error;
    }
  }
}

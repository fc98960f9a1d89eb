import type { ChildBuild, CopySource, Mount, Op, Spec, User } from "./ast.js";
import { SpecError } from "./errors.js";
import { validateSpec } from "./validate-spec.js";

/** Options of a `run` made in code. */
export interface RunOptions {
  /** @default [] */
  readonly cache?: readonly Mount[];
  /** `["host"]` gives the step outbound network. @default [] */
  readonly network?: readonly string[];
  /** @default [] */
  readonly secrets?: readonly Mount[];
}

/** Options of a `copy` made in code. */
export interface CopyOptions {
  /** A child build's name, or the build context. @default "context" */
  readonly from?: CopySource;
  /** Basenames skipped at every depth. @default [] */
  readonly exclude?: readonly string[];
}

/** Options of a cache or secret entry. */
export interface MountOptions {
  /** @default [] */
  readonly buildkitOptions?: readonly (readonly [string, string])[];
}

export interface SecretOptions extends MountOptions {
  /** @default `/run/secrets/${id}` */
  readonly target?: string;
}

/** `(ID (target PATH))` for `(run (cache ...))`. */
export function cacheMount(id: string, target: string, options: MountOptions = {}): Mount {
  return { id, target, buildkitOptions: options.buildkitOptions ?? [] };
}

/** `(ID (target PATH))` for `(run (secrets ...))`; the target defaults to `/run/secrets/ID`. */
export function secretMount(id: string, options: SecretOptions = {}): Mount {
  return {
    id,
    target: options.target ?? `/run/secrets/${id}`,
    buildkitOptions: options.buildkitOptions ?? [],
  };
}

/** Makes specs in code: `spec().from("debian").run("make").build()`. */
export class SpecBuilder {
  readonly #builds: ChildBuild[] = [];
  readonly #ops: Op[] = [];
  #from: string | undefined;

  /** Adds a child build `(build NAME SPEC)` that later copies can read with `{ build: name }`. */
  stage(name: string, child: Spec | SpecBuilder): this {
    this.#builds.push({ name, spec: child instanceof SpecBuilder ? child.build() : child });
    return this;
  }

  from(base: string): this {
    this.#from = base;
    return this;
  }

  op(op: Op): this {
    this.#ops.push(op);
    return this;
  }

  comment(text: string): this {
    return this.op({ op: "comment", text });
  }

  workdir(dir: string): this {
    return this.op({ op: "workdir", dir });
  }

  shell(...args: string[]): this {
    return this.op({ op: "shell", args });
  }

  run(command: string, options: RunOptions = {}): this {
    const { cache = [], network = [], secrets = [] } = options;
    return this.op({ op: "run", cache, network, secrets, shell: command });
  }

  copy(src: string | readonly string[], dst: string, options: CopyOptions = {}): this {
    const sources = typeof src === "string" ? [src] : src;
    const { from = "context", exclude = [] } = options;
    return this.op({ op: "copy", from, src: sources, dst, exclude });
  }

  user(user: User): this {
    return this.op({ op: "user", user });
  }

  env(name: string, value: string): this {
    return this.op({ op: "env", name, value });
  }

  /** The spec; throws a `SPEC_INVALID` {@link SpecError} if it breaks a rule of the language. */
  build(): Spec {
    if (this.#from === undefined) {
      const problem = { file: "<builder>", line: 0, column: 0, message: "missing from(BASE)" };
      throw new SpecError("SPEC_INVALID", [problem]);
    }
    const result: Spec = { builds: [...this.#builds], from: this.#from, ops: [...this.#ops] };
    const problems = validateSpec(result);
    if (problems.length > 0) throw new SpecError("SPEC_INVALID", problems);
    return result;
  }
}

/** Starts a {@link SpecBuilder}. */
export function spec(): SpecBuilder {
  return new SpecBuilder();
}

/** A tracing function; check `enabled` before building costly messages. */
export interface DebugFn {
  (message: string, ...args: unknown[]): void;
  readonly enabled: boolean;
}

function matches(namespace: string, spec: string): boolean {
  return spec.split(/[\s,]+/).some((pattern) => {
    if (!pattern) return false;
    if (pattern.endsWith("*")) return namespace.startsWith(pattern.slice(0, -1));
    return pattern === namespace;
  });
}

/** `createDebug("strata:qemu")`: writes to stderr only when DEBUG names the namespace. */
export function createDebug(namespace: string): DebugFn {
  const enabled = matches(namespace, process.env.DEBUG ?? "");
  const fn = enabled
    ? (message: string, ...args: unknown[]) => {
        const rest = args.map((a) => (typeof a === "string" ? a : JSON.stringify(a)));
        process.stderr.write(`${namespace} ${[message, ...rest].join(" ")}\n`);
      }
    : () => {};
  return Object.assign(fn, { enabled });
}

/** What a build reports as it goes; the CLI renders these in OBuilder's form. */
export type BuildEvent =
  /** A step starts: OBuilder prints `<workdir>: <op>`. */
  | { type: "step"; stage: string | undefined; workdir: string; op: string }
  /** The step's output, live or replayed from the cache. */
  | { type: "output"; chunk: Buffer }
  | { type: "saved"; id: string }
  | { type: "cached"; id: string }
  /** Detail for verbose output: VM started, SSH up, shutdown, caches... */
  | { type: "info"; message: string }
  | { type: "warning"; message: string }
  | { type: "done"; id: string };

export type BuildEventListener = (event: BuildEvent) => void;

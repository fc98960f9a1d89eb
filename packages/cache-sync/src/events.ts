import { Transform } from "node:stream";
import type { CacheStrategy } from "./strategy.js";
import type { CommitOutcome } from "./versions-io.js";

/** Progress of the caches of one step; libraries never print, the CLI renders these. */
export type CacheEvent =
  | {
      type: "checkout";
      cache: string;
      strategy: CacheStrategy;
      /** The version checked out; 0 for a new, empty cache. */
      generation: number;
    }
  /** `cache opam-archives: 12 MiB in`: bytes of tar stream so far; `done` on the last one. */
  | { type: "transfer"; cache: string; direction: "in" | "out"; bytes: number; done: boolean }
  | { type: "mounted" | "unmounted"; cache: string; target: string }
  | { type: "commit"; cache: string; outcome: CommitOutcome; generation: number }
  | { type: "warning"; cache: string; message: string };

const PROGRESS_EVERY_BYTES = 16 * 2 ** 20;

/** A pass-through that reports the bytes flowing through it every 16 MiB and at the end. */
export function countBytes(report: (bytes: number, done: boolean) => void): Transform {
  let bytes = 0;
  let next = PROGRESS_EVERY_BYTES;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes >= next) {
        next = bytes + PROGRESS_EVERY_BYTES;
        report(bytes, false);
      }
      callback(null, chunk);
    },
    flush(callback) {
      report(bytes, true);
      callback();
    },
  });
}

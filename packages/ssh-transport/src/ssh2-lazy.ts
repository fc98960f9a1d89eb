import { createRequire } from "node:module";
import type * as Ssh2 from "ssh2";

const require = createRequire(import.meta.url);
let loaded: typeof Ssh2 | undefined;

/**
 * The ssh2 module, loaded on first use: it costs ~130 ms, and a command that opens no
 * connection (a fully cached build, `strata ls`) should not pay for it.
 */
export function ssh2(): typeof Ssh2 {
  loaded ??= require("ssh2") as typeof Ssh2;
  return loaded;
}

// For lock-file.test.ts: takes the lock at argv[2] with a fast heartbeat, says "held", and keeps
// it (touching it) until killed. Run with vite-node.
import { tryAcquireLockFile } from "./lock-file.js";

const path = process.argv[2]!;
const attempt = tryAcquireLockFile(path, { staleMs: 60_000, heartbeatMs: 50 });
if (!("acquired" in attempt)) throw new Error(`lock ${path} is held`);
process.stdout.write("held\n");
setInterval(() => {}, 1000);

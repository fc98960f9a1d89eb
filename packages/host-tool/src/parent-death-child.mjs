// For parent-death.test.ts: spawns `sleep` through the given prefix, prints its pid, then waits
// to be SIGKILLed. Plain JavaScript so it runs under node without a build.
import { spawn } from "node:child_process";

const prefix = JSON.parse(process.argv[2]);
const argv = [...prefix, "sleep", "300"];
const child = spawn(argv[0], argv.slice(1), { stdio: "ignore" });
process.stdout.write(`${child.pid}\n`);
setInterval(() => {}, 1000);

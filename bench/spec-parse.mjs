// Parse + print a spec of 10,000 mixed operations, against a JSON baseline of the same AST.
// Run after `pnpm --filter @strata/spec-parser build`: node bench/spec-parse.mjs
import { performance } from "node:perf_hooks";
import { parseSpec, printSpec, spec } from "../packages/spec-parser/dist/index.js";

const OPERATIONS = 10_000;
const ROUNDS = 7;
const TARGET_MS = 100;

function makeSpec(count) {
  const builder = spec().stage("dev", spec().from("debian-bookworm").run("make")).from("busybox");
  for (let i = 0; i < count; i++) {
    switch (i % 7) {
      case 0:
        builder.comment(`step ${i}: "quoted" text`);
        break;
      case 1:
        builder.workdir(`/src/dir${i}`);
        break;
      case 2:
        builder.env(`VAR_${i}`, `value with spaces ${i}`);
        break;
      case 3:
        builder.run(`make -j4 target${i} && echo done`, {
          cache: [
            { id: `cache${i}`, target: `/cache/${i}`, buildkitOptions: [["sharing", "locked"]] },
          ],
          network: ["host"],
        });
        break;
      case 4:
        builder.copy([`src/file${i}.c`, `include/file${i}.h`], `/build/${i}/`, {
          exclude: [".git"],
        });
        break;
      case 5:
        builder.copy(`/out/bin${i}`, `/usr/local/bin/bin${i}`, { from: { build: "dev" } });
        break;
      default:
        builder.user({ uid: 1000 + i, gid: 1000 });
    }
  }
  return builder.build();
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(fn) {
  const times = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

const text = printSpec(makeSpec(OPERATIONS));
const json = JSON.stringify(makeSpec(OPERATIONS));

const strataMs = time(() => {
  const result = parseSpec(text, { file: "bench.spec" });
  if (!result.ok) throw new Error(result.problems[0].message);
  printSpec(result.spec);
});
const parseOnlyMs = time(() => parseSpec(text));
const jsonMs = time(() => JSON.stringify(JSON.parse(json)));

const perOp = (ms) => `${((ms * 1000) / OPERATIONS).toFixed(2)} µs/op`;
console.log(
  `spec: ${OPERATIONS} operations, ${(text.length / 1024).toFixed(0)} KiB; median of ${ROUNDS} rounds`,
);
console.log(`strata parse+print:      ${strataMs.toFixed(1)} ms (${perOp(strataMs)})`);
console.log(`strata parse only:       ${parseOnlyMs.toFixed(1)} ms (${perOp(parseOnlyMs)})`);
console.log(
  `baseline JSON.parse+stringify of the same AST (${(json.length / 1024).toFixed(0)} KiB): ${jsonMs.toFixed(1)} ms (${perOp(jsonMs)})`,
);
console.log(
  `ratio to baseline: ${(strataMs / jsonMs).toFixed(1)}x; target < ${TARGET_MS} ms: ${strataMs < TARGET_MS ? "met" : "NOT met"}`,
);

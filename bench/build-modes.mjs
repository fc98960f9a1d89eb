// The spec of test/build.test.ts (two stages, a stage copy, caches, a secret, a context copy)
// built end to end in a fresh store with warm starts (one VM per stage, the default) and with
// `--warm=off` (every step boots), in the same run. `node bench/build-modes.mjs`. Needs
// `pnpm build` and the test image (`node test/support/base-image.mjs`). Takes minutes under TCG.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBuild } from "../packages/builder/dist/index.js";
import { parseSpecOrThrow } from "../packages/spec-parser/dist/index.js";
import { openStore } from "../packages/store/dist/index.js";
import { freshStore } from "./vm-support.mjs";

const spec = parseSpecOrThrow(
  readFileSync(join(import.meta.dirname, "..", "test", "fixtures", "build.spec"), "utf8"),
);
const context = mkdtempSync(join(tmpdir(), "strata-bench-ctx-"));
writeFileSync(join(context, "a.txt"), "version one\n");
writeFileSync(join(context, "run.sh"), "#!/bin/sh\n");
chmodSync(join(context, "run.sh"), 0o700);
mkdirSync(join(context, "junk"));
writeFileSync(join(context, "junk", "x"), "x");
mkdirSync(join(context, "sub", "junk"), { recursive: true });
writeFileSync(join(context, "sub", "keep"), "k");

async function build(warm) {
  const root = freshStore("strata-bench-modes-");
  const store = await openStore({ root });
  const starts = [];
  const t0 = Date.now();
  try {
    await runBuild({
      store,
      spec,
      contextDir: context,
      warm,
      secrets: new Map([["token", Buffer.from("bench-secret")]]),
      onEvent: (e) => {
        if (e.type === "vm") starts.push(e.how);
      },
    });
    return { seconds: (Date.now() - t0) / 1000, starts };
  } finally {
    store.close();
    rmSync(root, { recursive: true, force: true });
  }
}

try {
  const off = await build("off");
  const auto = await build("auto");
  console.log(`test/build.test.ts's spec end to end, fresh store, same run:`);
  console.log(`  --warm=off  ${off.seconds.toFixed(1)} s  (${off.starts.join(" ")})`);
  console.log(`  --warm=auto ${auto.seconds.toFixed(1)} s  (${auto.starts.join(" ")})`);
  console.log(`  warm/off: ${(auto.seconds / off.seconds).toFixed(2)}x`);
} finally {
  rmSync(context, { recursive: true, force: true });
}

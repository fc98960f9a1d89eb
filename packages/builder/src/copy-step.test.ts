import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CopyOp } from "@strata/spec-parser";
import { afterEach, describe, expect, it } from "vitest";
import { copyFromStageScript } from "./copy-step.js";

describe("copyFromStageScript", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("never runs a $(...) or backquote in src: the missing-source message is one quoted word", () => {
    dir = mkdtempSync(join(tmpdir(), "strata-copy-"));
    const marker = join(dir, "pwned");
    const src = `/opt/$(touch ${marker})\`touch ${marker}\`"; touch ${marker}; "`;
    const op = { op: "copy", src: [src], dst: "/x", exclude: [] } as unknown as CopyOp;
    const script = copyFromStageScript(op, "/x", { uid: 0, gid: 0 });
    // The check is the first line about this source; run it in a real sh, where /mnt/... is absent.
    const check = script.split("\n").find((l) => l.startsWith("[ -e "));
    expect(check).toBeDefined();
    const r = spawnSync("sh", ["-c", check!], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(existsSync(marker)).toBe(false);
    expect(r.stderr).toBe(`copy source ${src.slice(1)} does not exist in the build's result\n`);
  });
});

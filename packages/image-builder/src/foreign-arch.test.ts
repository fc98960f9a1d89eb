import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostGuestArch } from "@strata/qemu-runner";
import { afterEach, describe, expect, it } from "vitest";
import { checkForeignArch } from "./foreign-arch.js";

describe("checkForeignArch", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const native = hostGuestArch() === "aarch64" ? "aarch64" : "x86_64";
  const foreign = native === "aarch64" ? "x86_64" : "aarch64";

  it("the host's own architecture needs no binfmt_misc entry", async () => {
    await expect(checkForeignArch(native, "/nonexistent")).resolves.toBe(undefined);
  });

  it("refuses a foreign build without an enabled qemu-user entry, saying what to install and run", async () => {
    const missing = checkForeignArch(foreign, "/nonexistent");
    await expect(missing).rejects.toMatchObject({ code: "HOST_TOOL_MISSING" });
    await expect(missing).rejects.toThrow(/binfmt_misc is not mounted on \/nonexistent/);
    await expect(missing).rejects.toThrow(
      new RegExp(`qemu-user-static and binfmt-support .* update-binfmts --enable qemu-${foreign}`),
    );
    dir = await mkdtemp(join(tmpdir(), "strata-binfmt-"));
    await writeFile(join(dir, "status"), "enabled\n");
    await expect(checkForeignArch(foreign, dir)).rejects.toThrow(
      `${join(dir, `qemu-${foreign}`)} does not exist`,
    );
    await writeFile(join(dir, `qemu-${foreign}`), "disabled\ninterpreter /usr/libexec/x\n");
    await expect(checkForeignArch(foreign, dir)).rejects.toThrow("is disabled");
    await writeFile(join(dir, `qemu-${foreign}`), "enabled\ninterpreter /usr/libexec/x\n");
    await expect(checkForeignArch(foreign, dir)).resolves.toBe(undefined);
  });
});

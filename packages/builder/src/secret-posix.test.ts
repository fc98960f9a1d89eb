import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { posixInstallScript, posixRemoveScript, SECRET_STAGING } from "./secret-posix.js";

const hostile = "/home/u/a b'c$(touch /tmp/pwned)`x`";

describe("POSIX secret scripts", () => {
  it("are valid sh with a hostile target quoted as one word", async () => {
    for (const script of [
      posixInstallScript(0, hostile, { uid: 1, gid: 2 }),
      posixRemoveScript([hostile]),
    ]) {
      await execa("sh", ["-n", "-c", script]);
      expect(script).toContain(`'/home/u/a b'\\''c$(touch /tmp/pwned)\`x\`'`);
    }
  });
  it("install keeps the value in the step's tmpfs and bind-mounts it, owned by the step's user", () => {
    const s = posixInstallScript(3, "/run/secrets/t", { uid: 1000, gid: 1001 });
    expect(s).toContain(`mount -t tmpfs -o mode=0711,size=16m strata-secrets ${SECRET_STAGING}`);
    expect(s).toContain(`chown 1000:1001 ${SECRET_STAGING}/3`);
    expect(s).toContain(`mount --bind ${SECRET_STAGING}/3 /run/secrets/t`);
  });
  it("removal fails (exit 1) when an unmount fails, instead of ignoring it", () => {
    const s = posixRemoveScript(["/t"]);
    expect(s).not.toContain("|| true");
    expect(s).toContain(
      'umount /t || { echo "strata: could not unmount the secret at "/t >&2; fail=1; break; }',
    );
    expect(s.trimEnd().split("\n").at(-1)).toBe("exit $fail");
  });
});

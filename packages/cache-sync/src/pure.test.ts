import { describe, expect, it } from "vitest";
import { CacheStrategyMismatchError } from "./errors.js";
import {
  clearCopyTargetCommand,
  extractCommand,
  lookupUserCommand,
  mountDiskCommand,
  packCommand,
  parseUserIds,
  prepareCopyTargetCommand,
  unmountDiskCommand,
  windowsPath,
} from "./guest-commands.js";
import { cacheFilesystemUuid } from "./host-tools.js";
import { targetProblems } from "./options.js";
import { chooseStrategy } from "./strategy.js";
import { pickCurrentVersion } from "./versions.js";

const opam = { uid: 1000, gid: 1000 };
const WIN = "/Users/opam/AppData/Local/opam/download-cache";

describe("versions", () => {
  it("takes the highest complete generation and calls the others stale", () => {
    const { current, stale } = pickCurrentVersion([
      "v2.tree",
      "v10.tree",
      "v9.qcow2",
      "v0.tree",
      "v3.tree.partial",
      "x",
    ]);
    expect(current).toEqual({ generation: 10, kind: "tree", entry: "v10.tree" });
    expect(stale.map((v) => v.entry)).toEqual(["v9.qcow2", "v2.tree"]);
    expect(pickCurrentVersion([]).current).toBeUndefined();
  });
});

describe("chooseStrategy", () => {
  it("defaults to disk on Linux and copy elsewhere, and follows what a cache already is", () => {
    expect(chooseStrategy("c", "auto", "linux", undefined)).toBe("disk");
    expect(chooseStrategy("c", "auto", "windows", undefined)).toBe("copy");
    expect(chooseStrategy("c", "auto", "freebsd", undefined)).toBe("copy");
    expect(chooseStrategy("c", "auto", "linux", "tree")).toBe("copy");
    expect(chooseStrategy("c", "copy", "linux", "tree")).toBe("copy");
    expect(() => chooseStrategy("c", "copy", "linux", "disk")).toThrow(CacheStrategyMismatchError);
    expect(() => chooseStrategy("c", "auto", "windows", "disk")).toThrow(/cannot mount ext4/);
  });
});

describe("targets", () => {
  it("accepts absolute paths and refuses the root, relative paths and cmd metacharacters", () => {
    expect(targetProblems("/home/opam/.cache/opam", "linux")).toEqual([]);
    expect(targetProblems(WIN, "windows")).toEqual([]);
    expect(targetProblems("C:\\Users\\opam\\cache", "windows")).toEqual([]);
    expect(targetProblems("/", "linux")).toEqual(["must not be the root directory"]);
    expect(targetProblems("C:\\", "windows")).toEqual(["must not be the root directory"]);
    expect(targetProblems("rel/dir", "linux")).toEqual(["must be an absolute path"]);
    expect(targetProblems("/a/../b", "linux")).toEqual(['must not contain "." or ".."']);
    expect(targetProblems("/Users/%USERNAME%/x", "windows")[0]).toMatch(/without "/);
    expect(targetProblems('/a"b', "windows")[0]).toMatch(/without "/);
  });
});

describe("guest command lines", () => {
  it("POSIX: prepare as root, extract as the user, pack as root, mount by UUID", () => {
    expect(prepareCopyTargetCommand("posix", "/home/opam/my cache", opam)).toBe(
      "sudo -n /bin/sh -c 'rm -rf -- '\\''/home/opam/my cache'\\'' && mkdir -p -- '\\''/home/opam/my cache'\\'' && chown 1000:1000 '\\''/home/opam/my cache'\\'''",
    );
    expect(extractCommand("posix", "/c", opam)).toBe(
      "sudo -n -u '#1000' -g '#1000' -- /bin/sh -c 'exec tar --no-same-owner -xf - -C /c'",
    );
    expect(packCommand("posix", "/c")).toBe("sudo -n tar -cf - -C /c .");
    expect(clearCopyTargetCommand("posix", "/c")).toBe(
      "sudo -n /bin/sh -c 'find /c -mindepth 1 -delete'",
    );
    const uuid = cacheFilesystemUuid("opam-archives");
    expect(mountDiskCommand(uuid, "/c", opam, true)).toBe(
      `sudo -n /bin/sh -c 'mkdir -p -- /c && mount -o noatime UUID=${uuid} /c && chown 1000:1000 /c'`,
    );
    expect(mountDiskCommand(uuid, "/c", opam, false)).not.toMatch(/chown/);
    expect(unmountDiskCommand("/c")).toBe("sudo -n /bin/sh -c 'sync && umount /c'");
    expect(lookupUserCommand("opam")).toBe("id -u -- opam && id -g -- opam");
    expect(parseUserIds("1000\n1001\n")).toEqual({ uid: 1000, gid: 1001 });
    expect(parseUserIds("id: 'x': no such user")).toBeUndefined();
  });

  it("Windows: cmd builtins with backslashes, bsdtar as `tar`, paths quoted", () => {
    expect(windowsPath(WIN)).toBe("\\Users\\opam\\AppData\\Local\\opam\\download-cache");
    expect(windowsPath("C:/x/")).toBe("C:\\x");
    // Always quoted (cmd takes & ^ ( ) and spaces literally inside quotes), not only with spaces.
    const p = '"\\Users\\opam\\AppData\\Local\\opam\\download-cache"';
    expect(prepareCopyTargetCommand("cmd", WIN, opam)).toBe(
      `(if exist ${p} rmdir /s /q ${p}) && mkdir ${p}`,
    );
    expect(extractCommand("cmd", WIN, opam)).toBe(`tar -xf - -C ${p}`);
    expect(packCommand("cmd", WIN)).toBe(`tar -cf - -C ${p} .`);
    expect(clearCopyTargetCommand("cmd", WIN)).toBe(`rmdir /s /q ${p} && mkdir ${p}`);
    const spaced = "C:\\Program Files\\cache";
    expect(extractCommand("cmd", spaced, opam)).toBe('tar -xf - -C "C:\\Program Files\\cache"');
    expect(prepareCopyTargetCommand("cmd", spaced, opam)).toBe(
      '(if exist "C:\\Program Files\\cache" rmdir /s /q "C:\\Program Files\\cache") && mkdir "C:\\Program Files\\cache"',
    );
    expect(packCommand("cmd", "C:\\a&b (x)")).toBe('tar -cf - -C "C:\\a&b (x)" .');
  });

  it("gives each cache a stable, valid filesystem UUID", () => {
    const uuid = cacheFilesystemUuid("opam-archives");
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(cacheFilesystemUuid("opam-archives")).toBe(uuid);
    expect(cacheFilesystemUuid("other")).not.toBe(uuid);
  });
});

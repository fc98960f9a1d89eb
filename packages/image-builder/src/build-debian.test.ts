import { describe, expect, it } from "vitest";
import { unshareProblems } from "./build-debian.js";

const files = (map: Record<string, string>) => async (path: string) => {
  const text = map[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
  return text;
};

describe("unshareProblems", () => {
  it("is empty when namespaces are on and the user has subordinate ids", async () => {
    const read = files({
      "/proc/sys/user/max_user_namespaces": "15000\n",
      "/etc/subuid": "other:200000:65536\nalice:100000:65536\n",
      "/etc/subgid": "alice:100000:65536\n",
    });
    expect(await unshareProblems("alice", read)).toEqual([]);
  });

  it("names each missing piece with the command that adds it", async () => {
    const read = files({
      "/proc/sys/user/max_user_namespaces": "0\n",
      "/etc/subuid": "bob:100000:65536\n",
    });
    const problems = await unshareProblems("alice", read);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain("sysctl -w user.max_user_namespaces");
    expect(problems[1]).toContain("sudo usermod --add-subuids 100000-165535 alice");
    expect(problems[2]).toContain("/etc/subgid");
  });
});

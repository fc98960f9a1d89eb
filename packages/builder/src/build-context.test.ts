import { describe, expect, it } from "vitest";
import { applyOp, initialContext, joinGuestPath } from "./build-context.js";

describe("joinGuestPath", () => {
  it("joins relative paths to the current directory and resolves dots", () => {
    expect(joinGuestPath("linux", "/", "src")).toBe("/src");
    expect(joinGuestPath("linux", "/src", "a/../b/./c")).toBe("/src/b/c");
    expect(joinGuestPath("linux", "/src", "/abs")).toBe("/abs");
    expect(joinGuestPath("linux", "/", "..")).toBe("/");
  });
  it("keeps Windows drives and accepts both separators", () => {
    expect(joinGuestPath("windows", "C:/", "Users\\opam")).toBe("C:/Users/opam");
    expect(joinGuestPath("windows", "C:/Users", "D:/x")).toBe("D:/x");
    expect(joinGuestPath("windows", "C:/Users", "/x")).toBe("/x");
  });
});

describe("applyOp", () => {
  it("tracks workdir, env (replacing in place), user and shell", () => {
    let ctx = initialContext("linux");
    expect(ctx.user).toEqual({ uid: 0, gid: 0 });
    expect(ctx.shell).toEqual(["/bin/bash", "-c"]);
    ctx = applyOp(ctx, { op: "workdir", dir: "/src" });
    ctx = applyOp(ctx, { op: "workdir", dir: "app" });
    ctx = applyOp(ctx, { op: "env", name: "A", value: "1" });
    ctx = applyOp(ctx, { op: "env", name: "B", value: "2" });
    ctx = applyOp(ctx, { op: "env", name: "A", value: "3" });
    ctx = applyOp(ctx, { op: "user", user: { uid: 1000, gid: 1000 } });
    ctx = applyOp(ctx, { op: "shell", args: ["/bin/bash", "-lc"] });
    expect(ctx).toMatchObject({
      workdir: "/src/app",
      env: [
        ["A", "3"],
        ["B", "2"],
      ],
      user: { uid: 1000, gid: 1000 },
      shell: ["/bin/bash", "-lc"],
    });
  });
  it("starts Windows guests in C:/ as the named administrator with cmd", () => {
    const ctx = initialContext("windows");
    expect(ctx.workdir).toBe("C:/");
    expect(ctx.user).toEqual({ name: "ContainerAdministrator" });
    expect(ctx.shell[0]).toBe("cmd");
  });
});

import { describe, expect, it } from "vitest";
import { createProgressRenderer, formatProgress } from "./progress.js";

describe("formatProgress", () => {
  it("shows percent, bytes, rate and ETA", () => {
    expect(formatProgress("pull", 50 * 2 ** 20, 200 * 2 ** 20, 5000)).toBe(
      "pull  25% 50.0 MiB / 200.0 MiB  10.0 MiB/s  ETA 15s",
    );
    expect(formatProgress("push", 10, 10, 1000)).toBe("push 100% 10 B / 10 B  10 B/s  done");
    expect(formatProgress("push", 0, 10, 0)).toContain("ETA --");
  });
});

describe("createProgressRenderer", () => {
  it("prints a line per 10 % step when not a terminal", () => {
    const lines: string[] = [];
    let t = 0;
    const render = createProgressRenderer(
      { write: (s: string) => lines.push(s) },
      { tty: false, label: "pull", now: () => t },
    );
    for (let done = 0; done <= 1000; done += 7) {
      t += 10;
      render(done, 1000);
    }
    render(1000, 1000);
    expect(lines.map((l) => /(\d+)%/.exec(l)?.[1])).toEqual([
      "0",
      "10",
      "20",
      "30",
      "40",
      "50",
      "60",
      "70",
      "80",
      "90",
      "100",
    ]);
    expect(lines.every((l) => l.endsWith("\n") && !l.includes("\r"))).toBe(true);
  });

  it("redraws one line on a terminal and ends it when done", () => {
    const out: string[] = [];
    let t = 0;
    const render = createProgressRenderer(
      { write: (s: string) => out.push(s) },
      { tty: true, label: "push", now: () => t },
    );
    render(1, 10);
    t += 50;
    render(2, 10); // too soon: not drawn
    t += 100;
    render(5, 10);
    render(10, 10);
    expect(out).toHaveLength(3);
    expect(out.every((s) => s.startsWith("\r"))).toBe(true);
    expect(out.at(-1)?.endsWith("\n")).toBe(true);
  });
});

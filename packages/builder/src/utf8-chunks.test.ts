import { describe, expect, it } from "vitest";
import { createUtf8Chunker, incompleteUtf8Tail } from "./utf8-chunks.js";

describe("UTF-8 chunks of a step's stdout and stderr sharing one log", () => {
  const OUT = Buffer.from("stdout: é € 😀 日本\n");
  const ERR = Buffer.from("stderr: ü ✓ 🎉\n");

  it("never lets a chunk of one stream land inside a character of the other, at any split", () => {
    for (let a = 0; a <= OUT.length; a++) {
      for (let b = 0; b <= ERR.length; b += 3) {
        const log: Buffer[] = [];
        const out = createUtf8Chunker((c) => log.push(c));
        const err = createUtf8Chunker((c) => log.push(c));
        // Interleaved as SSH could deliver them: out, err, out, err.
        out.write(OUT.subarray(0, a));
        err.write(ERR.subarray(0, b));
        out.write(OUT.subarray(a));
        err.write(ERR.subarray(b));
        out.end();
        err.end();
        const text = Buffer.concat(log).toString("utf8");
        expect(text, `split ${a}/${b}`).not.toContain("\ufffd");
        expect(text.length).toBe(OUT.toString().length + ERR.toString().length);
        for (const chunk of log) expect(chunk.toString("utf8")).not.toContain("\ufffd");
      }
    }
  });

  it("holds back only the start of an unfinished character, never other bytes", () => {
    expect(incompleteUtf8Tail(Buffer.from("abc"))).toBe(0);
    expect(incompleteUtf8Tail(Buffer.from([0x61, 0xe2]))).toBe(1);
    expect(incompleteUtf8Tail(Buffer.from([0xe2, 0x82]))).toBe(2);
    expect(incompleteUtf8Tail(Buffer.from([0xe2, 0x82, 0xac]))).toBe(0);
    expect(incompleteUtf8Tail(Buffer.from([0xf0, 0x9f, 0x98]))).toBe(3);
    expect(incompleteUtf8Tail(Buffer.from([0xff]))).toBe(0);
    expect(incompleteUtf8Tail(Buffer.from([0x80, 0x80, 0x80]))).toBe(0);
    const log: Buffer[] = [];
    const c = createUtf8Chunker((x) => log.push(x));
    c.write(Buffer.from([0xff, 0xe2]));
    c.end();
    expect(Buffer.concat(log)).toEqual(Buffer.from([0xff, 0xe2]));
  });
});

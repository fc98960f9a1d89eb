import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRedactor, guardedValues, SECRET_MASK } from "./secret-redact.js";

const b = (s: string) => Buffer.from(s);
const run = (values: Buffer[], chunks: Buffer[]) => {
  const r = createRedactor(values);
  return Buffer.concat([...chunks.map((c) => r.push(c)), r.flush()]);
};

describe("createRedactor", () => {
  it("masks a value inside one chunk and passes the rest unchanged", () => {
    expect(run([b("hunter22")], [b("pw=hunter22; ok\n")]).toString()).toBe("pw=***; ok\n");
  });
  it("masks a value split across chunks, byte by byte", () => {
    const text = "a hunter22 b hunter22";
    const chunks = [...text].map((c) => b(c));
    expect(run([b("hunter22")], chunks).toString()).toBe("a *** b ***");
  });
  it("holds back only a tail that could still be a value", () => {
    const r = createRedactor([b("hunter22")]);
    expect(r.push(b("xx hun")).toString()).toBe("xx ");
    expect(r.push(b("dred")).toString()).toBe("hundred");
    expect(r.flush().length).toBe(0);
  });
  it("prefers the longer of two values starting at the same byte", () => {
    expect(run([b("secret"), b("secret-long")], [b("[secret-long]")]).toString()).toBe("[***]");
  });
  it("never lets a value through, however the stream is cut (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 6, maxLength: 12 }),
        fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 6 }),
        fc.array(fc.nat(40), { maxLength: 8 }),
        (secret, fillers, cuts) => {
          const value = Buffer.from(secret);
          const whole = Buffer.concat(fillers.flatMap((f) => [Buffer.from(f), value]));
          const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort(
            (x, y) => x - y,
          );
          const chunks: Buffer[] = [];
          let last = 0;
          for (const p of [...points, whole.length]) {
            chunks.push(whole.subarray(last, p));
            last = p;
          }
          const out = run([value], chunks);
          expect(out.includes(value)).toBe(false);
          // Cutting does not change the result.
          expect(out.equals(run([value], [whole]))).toBe(true);
          // Each value became one mask (values that overlap themselves may merge).
          expect(out.length).toBeLessThanOrEqual(
            whole.length - fillers.length * (value.length - SECRET_MASK.length),
          );
        },
      ),
    );
  });
});

describe("guardedValues", () => {
  it("adds the value without its final newline and drops values too short to guard", () => {
    const got = guardedValues([b("token-1234\n"), b("abc")]).map((v) => v.toString());
    expect(got.sort()).toEqual(["token-1234", "token-1234\n"]);
  });
});

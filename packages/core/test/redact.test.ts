import { randomBytes } from "node:crypto";
import { redact } from "@keyup/core";
import fc from "fast-check";
import { describe, expect, test } from "vitest";

/**
 * redact() is the second belt on messages keyup did not write (AWS error text): anything shaped like a
 * secret access key (a run of exactly 40 base64 characters) becomes "[redacted]", nothing else changes.
 */
const secret = () => randomBytes(30).toString("base64"); // 40 characters of [A-Za-z0-9+/]

describe("redact()", () => {
  test("replaces a secret access key wherever it stands", () => {
    const s = secret();
    expect(redact(s)).toBe("[redacted]");
    expect(redact(`secret ${s} leaked`)).toBe("secret [redacted] leaked");
    expect(redact(`"${s}",`)).toBe('"[redacted]",');
    expect(redact(`key=${s}\nnext`)).toBe("key=[redacted]\nnext");
  });

  test("replaces every one of several secrets", () => {
    const [a, b] = [secret(), secret()];
    expect(redact(`${a} and ${b}`)).toBe("[redacted] and [redacted]");
  });

  test("leaves runs that are not 40 characters alone: 39, 41, access key ids, ARNs, request ids", () => {
    const s = secret();
    for (const text of [s.slice(0, 39), `${s}A`, "AKIAIOSFODNN7EXAMPLE", "arn:aws:iam::123456789012:user/ci-bot", "c2f1b7a4-5d3e-4b1a-9f0e-0123456789ab", ""]) {
      expect(redact(text), text).toBe(text);
    }
  });

  test("a 40-character run followed by base64 padding is part of a longer value, not a key", () => {
    const s = secret();
    expect(redact(`${s}==`)).toBe(`${s}==`);
  });

  test("property: a 40-character key between separators is replaced and nothing around it changes", () => {
    const base64 = fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    const key = fc.array(base64, { minLength: 40, maxLength: 40 }).map((cs) => cs.join(""));
    const around = fc.string({ unit: fc.constantFrom(" ", ":", "\n", '"', "-", ",", "."), maxLength: 5 });
    fc.assert(
      fc.property(around, key, around, (before, k, after) => {
        const out = redact(`${before}${k}${after}`);
        expect(out).toBe(`${before}[redacted]${after}`);
        expect(out).not.toContain(k.slice(0, 16));
      }),
      { numRuns: 500 },
    );
  });
});

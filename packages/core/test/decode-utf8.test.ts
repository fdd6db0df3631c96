import { decodeUtf8 } from "@keyup/core/files";
import fc from "fast-check";
import { expect, test } from "vitest";

// decodeUtf8 reads ASCII bytes as Latin-1 (a faster path, issue 14): whatever the bytes, it must give
// what the strict decoder gives (BOM kept), and refuse exactly what that decoder refuses.
const reference = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function referenceOf(bytes: Uint8Array): { text: string } | "invalid" {
  try {
    return { text: reference.decode(bytes) };
  } catch {
    return "invalid";
  }
}

test("decodeUtf8 agrees with the strict UTF-8 decoder on ASCII, multi-byte, BOM and invalid bytes", () => {
  const ascii = fc.uint8Array({ max: 0x7f, maxLength: 200 });
  const text = fc.string({ unit: "grapheme", maxLength: 100 }).map((s) => new TextEncoder().encode(s));
  const withBom = text.map((bytes) => Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes]));
  const anything = fc.uint8Array({ maxLength: 200 });
  fc.assert(
    fc.property(fc.oneof(ascii, text, withBom, anything), (bytes) => {
      const expected = referenceOf(bytes);
      if (expected === "invalid") expect(() => decodeUtf8(bytes, "/x")).toThrow(expect.objectContaining({ code: "EINVALID" }));
      else expect(decodeUtf8(bytes, "/x")).toBe(expected.text);
    }),
    { numRuns: 2000 },
  );
  // A large ASCII buffer (the Latin-1 path), and one byte over 0x7f in it (the decoder's path).
  const large = Buffer.from("[p]\naws_access_key_id = AKIA\n".repeat(50_000));
  expect(decodeUtf8(large, "/x")).toBe(large.toString("utf8"));
  large[100] = 0xff;
  expect(() => decodeUtf8(large, "/x")).toThrow(/not valid UTF-8/);
});

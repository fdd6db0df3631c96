import { spliceText, type TextEdit } from "@keyup/core/files";
import fc from "fast-check";
import { expect, test } from "vitest";

// spliceText puts an ASCII text together in a buffer (a faster path, issue 14): whatever the text
// and edits, it must give what concatenating the slices gives.
function concatenated(text: string, edits: readonly TextEdit[]): string {
  let result = "";
  let from = 0;
  for (const { start, end, insert } of [...edits].sort((a, b) => a.start - b.start)) {
    result += text.slice(from, start) + insert;
    from = end;
  }
  return result + text.slice(from);
}

/** A text and non-overlapping edits of it, given in a shuffled order. */
const textAndEdits = (chars: fc.Arbitrary<string>) =>
  fc.string({ unit: chars, maxLength: 60 }).chain((text) =>
    fc
      .tuple(
        fc.uniqueArray(fc.nat({ max: text.length }), { maxLength: 6 }),
        fc.array(fc.string({ unit: chars, maxLength: 8 }), { minLength: 3, maxLength: 3 }),
        fc.nat(),
      )
      .map(([cuts, inserts, seed]) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        const edits: TextEdit[] = [];
        for (let i = 0; i + 1 < sorted.length; i += 2)
          edits.push({ start: sorted[i] as number, end: sorted[i + 1] as number, insert: inserts[i % 3] as string });
        if (sorted.length % 2 === 1) edits.push({ start: sorted.at(-1) as number, end: sorted.at(-1) as number, insert: inserts[2] as string });
        const shuffled = edits.map((edit, i) => ({ edit, key: (i * 7919 + seed) % 13 })).sort((a, b) => a.key - b.key);
        return { text, edits: shuffled.map((s) => s.edit) };
      }),
  );

test("an ASCII text: the same as concatenating the slices", () => {
  fc.assert(
    fc.property(textAndEdits(fc.constantFrom("a", "=", "\n", "\r", " ", "#", "\x7f", "\0")), ({ text, edits }) => {
      expect(spliceText(text, edits)).toBe(concatenated(text, edits));
    }),
    { numRuns: 500 },
  );
});

test("any text, non-ASCII and lone surrogates included: the same as concatenating the slices", () => {
  fc.assert(
    fc.property(textAndEdits(fc.constantFrom("a", "\n", "é", "\xff", "Ā", "€", "😀", "\ud800", "\udc00")), ({ text, edits }) => {
      expect(spliceText(text, edits)).toBe(concatenated(text, edits));
    }),
    { numRuns: 500 },
  );
});

test("no edit gives the text itself; a Latin-1 character is not taken for ASCII", () => {
  expect(spliceText("a=1\n", [])).toBe("a=1\n");
  expect(spliceText("key = old\n", [{ start: 6, end: 9, insert: "ÿ" }])).toBe("key = ÿ\n");
  expect(spliceText("clé = old\n", [{ start: 6, end: 9, insert: "new" }])).toBe("clé = new\n");
  // One insert beyond Latin-1 among ASCII ones is enough to leave the byte path.
  expect(
    spliceText("key = old\nb = 2\n", [
      { start: 6, end: 9, insert: "new" },
      { start: 14, end: 15, insert: "€" },
    ]),
  ).toBe("key = new\nb = €\n");
  // A large text goes through the buffer (and comes back as a string outside the heap).
  const large = "x".repeat(2_000_000);
  expect(spliceText(large, [{ start: 1_000_000, end: 1_000_001, insert: "Y" }])).toBe(`${"x".repeat(1_000_000)}Y${"x".repeat(999_999)}`);
});

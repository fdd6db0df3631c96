import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { editProfile, iniStore, listProfiles, readProfile } from "@keyup/store-ini";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { propertyRuns } from "../../../test-support/property-runs.js";
import { type Edit, type IniLine, type TokenizedIni, tokenizationCount, tokenize, tokenizeAnew, tokenizeEdited } from "../src/_internal/ini-lines.js";
import { fakeKey, tempDir } from "./support.js";

// A write derives the new text's tokenization from the old one's (only the edited lines are looked
// at again), so that a fleet splits its credentials file into lines once. Derived and fresh must
// agree on every line, or a read after a write would see a different file than the one on disk.

/** Every line, classified, and the other answers a tokenization gives. */
function described(ini: TokenizedIni): unknown {
  const lines: IniLine[] = Array.from({ length: ini.lineCount }, (_, index) => ini.line(index));
  return { bomLength: ini.bomLength, lineCount: ini.lineCount, eol: ini.eol, lines, sections: ini.sections };
}

const piece = fc.constantFrom("[a]", "[ b ]", "k = v", "aws_access_key_id = AKIA1", "  nested = 1", "# c", "; c", "", " ", "x", "=", "[", "é");
const eol = fc.constantFrom("\n", "\r\n", "\r");
const text = fc.tuple(fc.boolean(), fc.array(fc.tuple(piece, eol), { maxLength: 12 }), fc.boolean()).map(([bom, lines, finalEol]) => {
  const body = lines.map(([line, end]) => line + end).join("");
  return (bom ? "\uFEFF" : "") + (finalEol || body.length === 0 ? body : body.slice(0, body.endsWith("\r\n") ? -2 : -1));
});
const insert = fc.array(fc.constantFrom("a", " ", "=", "[x]", "\n", "\r\n", "\r", "#"), { maxLength: 6 }).map((parts) => parts.join(""));

/** Up to three edits that do not overlap (two insertions may share a place), with offsets into `source`. */
function editsOf(source: string): fc.Arbitrary<Edit[]> {
  return fc.array(fc.tuple(fc.nat({ max: source.length }), fc.nat({ max: source.length }), insert), { minLength: 1, maxLength: 3 }).map((raw) => {
    const edits: Edit[] = [];
    for (const [a, b, text] of raw) {
      const [start, end] = a <= b ? [a, b] : [b, a];
      if (edits.every((other) => end <= other.start || start >= other.end || (start === end && other.start === other.end))) {
        edits.push({ start, end, insert: text });
      }
    }
    return edits;
  });
}

function splice(source: string, edits: readonly Edit[]): string {
  let result = "";
  let from = 0;
  // An insertion where a replacement starts goes before it.
  for (const { start, end, insert } of [...edits].sort((a, b) => a.start - b.start || a.end - b.end)) {
    result += source.slice(from, start) + insert;
    from = end;
  }
  return result + source.slice(from);
}

describe("a tokenization derived from an edit", () => {
  test("is the one a fresh split of the edited text gives, line for line (generated texts and edits)", () => {
    fc.assert(
      fc.property(
        text.chain((source) => fc.tuple(fc.constant(source), editsOf(source), fc.nat({ max: 20 }))),
        ([source, edits, classifiedBefore]) => {
          const before = tokenizeAnew(source);
          // Some lines classified before the edit: a derived tokenization keeps those that stay.
          for (let index = 0; index < Math.min(classifiedBefore, before.lineCount); index++) before.line(index);
          const result = splice(source, edits);
          expect(described(tokenizeEdited(before, edits, result))).toEqual(described(tokenizeAnew(result)));
        },
      ),
      { numRuns: propertyRuns(2_000) },
    );
  });

  test("is the one the next read of the edited text gets", () => {
    const before = "[a]\naws_access_key_id = AKIAOLD\naws_secret_access_key = old\n[b]\nregion = x\n";
    const key = fakeKey();
    const after = editProfile(before, "a", key);
    const count = tokenizationCount();
    expect(readProfile(after, "a")).toEqual(key);
    expect(listProfiles(after)).toEqual(["a", "b"]);
    expect(tokenizationCount()).toBe(count);
    expect(described(tokenize(after))).toEqual(described(tokenizeAnew(after)));
  });

  test("a section appended to a file without a final newline, a key inserted after a value-less line: as a fresh split", () => {
    for (const [source, profile] of [
      ["[a]\nregion = x", "b"],
      ["[a]\r\naws_access_key_id=", "a"],
      ["\uFEFF", "a"],
      ["", "a"],
      ["[a]\n\n\n", "a"],
    ] as const) {
      const after = editProfile(source, profile, fakeKey());
      expect(described(tokenize(after))).toEqual(described(tokenizeAnew(after)));
    }
  });
});

describe("a fleet splits its credentials file into lines once", () => {
  test("20 profiles of one file, each read, backed up, written and read again, as a rotation does: one split", async () => {
    const dir = await tempDir();
    const path = join(dir, "credentials");
    const names = Array.from({ length: 20 }, (_, i) => `p${i}`);
    await writeFile(path, names.map((name, i) => `# ${name}\n[${name}]\naws_access_key_id = AKIAOLD${i}\naws_secret_access_key = old${i}\n`).join("\n"), {
      mode: 0o600,
    });
    const count = tokenizationCount();
    for (const [i, name] of names.entries()) {
      const store = iniStore({ profile: name, path });
      expect(await store.read()).toEqual({ accessKeyId: `AKIAOLD${i}`, secretAccessKey: `old${i}` });
      await store.backup();
      const key = fakeKey();
      await store.write(key);
      expect(await store.read()).toEqual(key);
    }
    expect(tokenizationCount() - count).toBe(1);
  });
});

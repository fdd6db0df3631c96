import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { propertyRuns } from "../../../test-support/property-runs.js";
import {
  END,
  envScanner,
  isBlank,
  isLineEnd,
  isNameCharacter,
  NAME_END,
  NAME_START,
  PREFIX,
  REACH,
  START,
  STRIDE,
  scanEnv,
  VALUE_END,
  VALUE_START,
} from "../src/env-scan.js";
import { dotenvMatches } from "./_support/dotenv-rule.js";
import { adversarial, lines } from "./_support/env-texts.js";
import { editorFixtures } from "./_support/fixtures.js";

// The same rule with every part captured (the blank before, `export`, the separator), which changes
// nothing about what it matches: checked below by comparing its matches with dotenv's.
const CAPTURING = /(?:^|^)(\s*)(export\s+)?([\w.-]+)(\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm;

type Found = [index: number, blank: string, exported: string | undefined, name: string, joint: string, value: string | undefined, lastIndex: number];

/** Every match of the capturing rule, as the engine finds them. */
function byRegex(text: string): Found[] {
  const rule = new RegExp(CAPTURING.source, CAPTURING.flags);
  const out: Found[] = [];
  for (let m = rule.exec(text); m !== null; m = rule.exec(text)) {
    out.push([m.index, m[1] as string, m[2], m[3] as string, m[4] as string, m[5], rule.lastIndex]);
  }
  return out;
}

/** The scanner's matches in the same shape. */
function byScanner(text: string): Found[] {
  const { matches } = scanEnv(text);
  const out: Found[] = [];
  for (let i = 0; i < matches.length; i += STRIDE) {
    const f = (field: number) => matches[i + field] as number;
    out.push([
      f(START),
      text.slice(f(START), f(PREFIX)),
      f(PREFIX) === f(NAME_START) ? undefined : text.slice(f(PREFIX), f(NAME_START)),
      text.slice(f(NAME_START), f(NAME_END)),
      text.slice(f(NAME_END), f(VALUE_START)),
      f(VALUE_END) === -1 ? undefined : text.slice(f(VALUE_START), f(VALUE_END)),
      f(END),
    ]);
  }
  return out;
}

function agree(text: string): void {
  const expected = byRegex(text);
  expect(byScanner(text)).toEqual(expected);
  expect(expected.map(([index, , , name, , value, lastIndex]) => [index, name, value, lastIndex])).toEqual(dotenvMatches(text));
}

describe("the scanner finds what dotenv's rule finds", () => {
  test("the capturing rule matches exactly what dotenv's rule matches (the oracle is dotenv's)", () => {
    fc.assert(
      fc.property(fc.oneof(adversarial, lines), (text) => {
        expect(byRegex(text).map(([index, , , name, , value, lastIndex]) => [index, name, value, lastIndex])).toEqual(dotenvMatches(text));
      }),
      { numRuns: propertyRuns(500) },
    );
  });

  test("on random combinations of the rule's special characters: every capture, index and lastIndex", () => {
    fc.assert(fc.property(adversarial, agree), { numRuns: propertyRuns(5000) });
  });

  test("on generated assignment lines with any line ending", () => {
    fc.assert(fc.property(lines, agree), { numRuns: propertyRuns(3000) });
  });

  test("on the same texts with line endings turned into \\n, as dotenv and the editor scan them", () => {
    fc.assert(
      fc.property(fc.oneof(adversarial, lines), (text) => agree(text.replace(/\r\n?/g, "\n"))),
      { numRuns: propertyRuns(3000) },
    );
  });

  // Measured: 1.5 s on an idle 2-core machine, 21.7 s at a load average of 10 (beside a mutation run),
  // where it once failed the unit project's 30 s; 120 s is over 5x the loaded figure.
  test("on arbitrary strings", { timeout: 120_000 }, () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 60 }), agree), { numRuns: propertyRuns(2000) });
  });

  test("on the editor's fixtures", () => {
    for (const fixture of editorFixtures) agree(fixture.before);
  });

  test.each([
    ["an unclosed quote followed by escaped quotes that can close it", "A='x\\'y\\'\nB=2\n"],
    ["a closing quote followed by text, then an escaped quote later", "A='x' y \\' \n"],
    ["a quote that only an escaped quote on a later line closes", 'A="a\nB=1\\"\n'],
    ["backslash-backslash before a quote", "A='a\\\\'b'\n"],
    ["a quoted value after a separator and a line break", "A=\n'x'\nB=1\n"],
    ["a name and its = on different lines", "A\n=1\n"],
    ["export across a line break", "export\nA=1\n"],
    ["export as the name", "export=1\nexport :x\n"],
    ["a comment swallowed after a quoted value on the next line", "A='x'\n  # c\nB=2\n"],
    ["an empty text", ""],
    ["only line endings", "\n\r\n\r\u2028"],
    ["a value running into U+2028", "A=x\u2028B=y\n"],
    ["a colon with a line break after it", "A:\nB=1\n"],
    ["a text ending in a quote", "A='"],
    ["blanks and a line ending after a quoted value, then text", "A='x'  \n y\n"],
  ])("%s", (_title, text) => agree(text));
});

describe("the scanner's character classes are the rule's", () => {
  // Every UTF-16 code unit, since the rule has no `u` flag.
  test("isBlank is \\s, isLineEnd ends `.`, isNameCharacter is [\\w.-], for all 65,536 code units", () => {
    const wrong: string[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      const c = String.fromCharCode(code);
      if (isBlank(code) !== /\s/.test(c)) wrong.push(`blank ${code}`);
      if (isLineEnd(code) !== !/./.test(c)) wrong.push(`line end ${code}`);
      if (isNameCharacter(code) !== /[\w.-]/.test(c)) wrong.push(`name ${code}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("a step's reach", () => {
  // What the edit's check relies on: a step that looked only before `reach` finds the same match in
  // any text that starts the same up to there. Each step is rerun on the text cut at its reach and
  // followed by other characters.
  test("a step finds the same match whatever follows its reach", () => {
    fc.assert(
      fc.property(fc.oneof(adversarial, lines), fc.oneof(adversarial, lines), (text, tail) => {
        const { matches } = scanEnv(text);
        for (let i = 0; i < matches.length; i += STRIDE) {
          const reach = matches[i + REACH] as number;
          if (reach > text.length) continue;
          const from = i === 0 ? 0 : (matches[i - STRIDE + END] as number);
          const changed = text.slice(0, reach) + tail;
          const again: number[] = [];
          envScanner(changed)(from, again);
          expect(again).toEqual(matches.slice(i, i + STRIDE));
        }
      }),
      { numRuns: propertyRuns(2000) },
    );
  });

  test("the last search, which finds nothing, reads to the end", () => {
    const { matches } = scanEnv("A=1\n# c\n");
    expect(envScanner("A=1\n# c\n")(matches[END] as number, [])).toBe(-1);
  });
});

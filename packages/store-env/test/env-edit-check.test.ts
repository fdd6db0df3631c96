import { parse as dotenvParse } from "dotenv";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { propertyRuns } from "../../../test-support/property-runs.js";
import { assertOnlyValuesChanged, findAssignments, parseEnv } from "../src/env-editor.js";
import { dotenvAssignments } from "./_support/dotenv-rule.js";
import { adversarial, lines } from "./_support/env-texts.js";
import { editorFixtures } from "./_support/fixtures.js";

/**
 * The edit's postcondition as first written, over dotenv's own rule and decoding, every match of
 * both texts: `after` holds each of `values` exactly once, and every other assignment of `before`,
 * in order, with its value.
 */
function holdsByDotenv(before: string, after: string, values: Readonly<Record<string, string>>): boolean {
  const others = (text: string) => dotenvAssignments(text).filter(([name]) => !Object.hasOwn(values, name));
  const set = dotenvAssignments(after).filter(([name]) => Object.hasOwn(values, name));
  return (
    JSON.stringify(others(before)) === JSON.stringify(others(after)) &&
    Object.entries(values).every(([name, value]) => {
      const found = set.filter(([n]) => n === name);
      return found.length === 1 && found[0]?.[1] === value;
    })
  );
}

/** Whether the editor's check passes. */
/** How often each verdict came up: a property whose cases all end the same way proves little. */
interface Tally {
  held: number;
  refused: number;
}

/** Checks that the editor's verdict is dotenv's, and counts it. */
function agreeOn(tally: Tally, before: string, after: string, values: Readonly<Record<string, string>>, from: number, to: number): void {
  const verdict = holdsByDotenv(before, after, values);
  expect(holdsByEditor(before, after, values, from, to)).toBe(verdict);
  if (verdict) tally.held++;
  else tally.refused++;
}

function holdsByEditor(before: string, after: string, values: Readonly<Record<string, string>>, from: number, to: number): boolean {
  try {
    assertOnlyValuesChanged(before, after, values, from, to);
    return true;
  } catch (error) {
    expect((error as { code?: string }).code).toBe("EINVALID");
    return false;
  }
}

/**
 * The values to check `after` against: for each of `picked`, what dotenv reads in `after` (so that
 * the verdict turns on the other variables) or, where `asRead` says not, an arbitrary value.
 */
function valuesFor(after: string, picked: Readonly<Record<string, string>>, asRead: boolean): Record<string, string> {
  const read = dotenvParse(after);
  return Object.fromEntries(Object.entries(picked).map(([name, value]) => [name, asRead ? (read[name] ?? value) : value]));
}

const anyText = fc.oneof(adversarial, lines);

/** Blocks of lines joined into one text, each name made unique (a name set twice never holds). */
function joinUnique(blocks: readonly string[]): string {
  return blocks.map((block, k) => block.replace(/KEY_1|a\.b-c|\bA\b/g, (name, at: number) => `${name}_${k}_${at}`)).join("\n");
}

/**
 * A change to `before`: any characters between two offsets replaced by `insert`, or (when `benign`
 * and there is an assignment to pick) one value replaced by `zz` and only that name checked, which
 * is how most edits that hold come up.
 */
function changeOf(before: string, i: number, j: number, insert: string, picked: Record<string, string>, benign: boolean, asRead: boolean) {
  const assignments = benign ? parseEnv(before) : [];
  const target = assignments[i % Math.max(1, assignments.length)];
  if (target !== undefined) {
    const after = `${before.slice(0, target.valueStart)}zz${before.slice(target.valueEnd)}`;
    return { after, from: target.valueStart, to: target.valueEnd, values: valuesFor(after, { [target.name]: "" }, true) };
  }
  const [from, to] = [i % (before.length + 1), j % (before.length + 1)].sort((a, b) => a - b) as [number, number];
  const after = before.slice(0, from) + insert + before.slice(to);
  return { after, from, to, values: valuesFor(after, picked, asRead) };
}
const NAMES = ["A", "KEY_1", "a.b-c", "export", "b"];
const someValues = fc.dictionary(fc.constantFrom(...NAMES), fc.stringMatching(/^[a-z0-9]{0,4}$/), { minKeys: 1, maxKeys: 3 });

describe("the oracle", () => {
  test("dotenvAssignments is dotenv.parse as a list (the last of each name is dotenv's value)", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(Object.fromEntries(dotenvAssignments(text))).toEqual(dotenvParse(text));
      }),
      { numRuns: propertyRuns(1000) },
    );
  });
});

describe("the edit's check reaches the verdict of comparing both full parses by dotenv's rule", () => {
  test("when values are written into the spans the editor found, as editEnv does", () => {
    const tally: Tally = { held: 0, refused: 0 };
    fc.assert(
      fc.property(anyText, someValues, fc.boolean(), (before, picked, asRead) => {
        const values = { ...picked };
        const spans = findAssignments(before, Object.keys(values))
          .map((a) => ({ start: a.valueStart, end: a.valueEnd, insert: values[a.name] as string }))
          .sort((a, b) => a.start - b.start)
          .filter((span, i, all) => i === 0 || span.start >= (all[i - 1] as { end: number }).end);
        if (spans.length === 0) return;
        let after = "";
        let at = 0;
        for (const span of spans) {
          after += before.slice(at, span.start) + span.insert;
          at = span.end;
        }
        after += before.slice(at);
        if (asRead) Object.assign(values, valuesFor(after, picked, true));
        const from = spans[0]?.start as number;
        const to = spans[spans.length - 1]?.end as number;
        agreeOn(tally, before, after, values, from, to);
      }),
      { numRuns: propertyRuns(3000) },
    );
    expect(tally.held).toBeGreaterThan(propertyRuns(60));
    expect(tally.refused).toBeGreaterThan(propertyRuns(60));
  });

  test("when any characters between any two offsets are replaced by any others", () => {
    const tally: Tally = { held: 0, refused: 0 };
    fc.assert(
      fc.property(anyText, fc.nat(), fc.nat(), anyText, someValues, fc.boolean(), fc.boolean(), (before, i, j, insert, picked, benign, asRead) => {
        const { after, from, to, values } = changeOf(before, i, j, insert, picked, benign, asRead);
        agreeOn(tally, before, after, values, from, to);
      }),
      { numRuns: propertyRuns(3000) },
    );
    expect(tally.held).toBeGreaterThan(propertyRuns(60));
    expect(tally.refused).toBeGreaterThan(propertyRuns(60));
  });

  // The bounds are verified, not trusted: bounds that do not enclose the change must not make the
  // check look at too little.
  test("when the bounds it is given do not enclose the change", () => {
    const tally: Tally = { held: 0, refused: 0 };
    fc.assert(
      fc.property(
        anyText,
        fc.nat(),
        fc.nat(),
        anyText,
        someValues,
        fc.boolean(),
        fc.boolean(),
        fc.nat(),
        fc.nat(),
        (before, i, j, insert, picked, benign, asRead, k, l) => {
          const { after, values } = changeOf(before, i, j, insert, picked, benign, asRead);
          const [claimedFrom, claimedTo] = [k % (before.length + 1), l % (before.length + 1)].sort((a, b) => a - b) as [number, number];
          agreeOn(tally, before, after, values, claimedFrom, claimedTo);
        },
      ),
      { numRuns: propertyRuns(2000) },
    );
    expect(tally.held).toBeGreaterThan(propertyRuns(40));
    expect(tally.refused).toBeGreaterThan(propertyRuns(40));
  });

  // A value changed in a text of many assignments, the check told of some other place: reusing
  // matches on trust would miss the change.
  test("when a value changes and the bounds it is given are elsewhere", () => {
    const tally: Tally = { held: 0, refused: 0 };
    fc.assert(
      fc.property(
        fc.array(lines, { minLength: 3, maxLength: 12 }),
        fc.nat(),
        fc.boolean(),
        fc.nat(),
        fc.nat(),
        someValues,
        (blocks, i, sameLength, k, l, picked) => {
          const before = joinUnique(blocks);
          const assignments = parseEnv(before);
          const target = assignments[i % Math.max(1, assignments.length)];
          if (target === undefined) return;
          // Of the same length too: a change that shifts nothing is the one a trusting check could miss at the end.
          const insert = sameLength ? "z".repeat(target.valueEnd - target.valueStart) : "zz";
          const after = `${before.slice(0, target.valueStart)}${insert}${before.slice(target.valueEnd)}`;
          const values = valuesFor(after, sameLength ? picked : { [target.name]: "" }, true);
          const [claimedFrom, claimedTo] = [k % (before.length + 1), l % (before.length + 1)].sort((a, b) => a - b) as [number, number];
          agreeOn(tally, before, after, values, claimedFrom, claimedTo);
        },
      ),
      { numRuns: propertyRuns(2000) },
    );
    expect(tally.held).toBeGreaterThan(propertyRuns(40));
    expect(tally.refused).toBeGreaterThan(propertyRuns(40));
  });

  test("on large texts, where most matches are reused, with a change in the middle", () => {
    const tally: Tally = { held: 0, refused: 0 };
    fc.assert(
      fc.property(
        fc.array(lines, { minLength: 20, maxLength: 60 }),
        fc.nat(),
        anyText,
        someValues,
        fc.boolean(),
        fc.boolean(),
        (blocks, i, insert, picked, benign, asRead) => {
          const before = joinUnique(blocks);
          const { after, from, to, values } = changeOf(before, i, i + (i % 7), insert, picked, benign, asRead);
          agreeOn(tally, before, after, values, from, to);
        },
      ),
      { numRuns: propertyRuns(500) },
    );
    expect(tally.held).toBeGreaterThan(propertyRuns(10));
    expect(tally.refused).toBeGreaterThan(propertyRuns(10));
  });

  // The editor keeps a checkpoint every 64 searches. Here the 64th search (of Q) looked ahead to a
  // quote on the next line, and the change is to that quote: the searches before the checkpoint did
  // not all look only at unchanged text, so none of them may be reused, and Q must be read again.
  test("a change that an earlier search looked ahead to, just before a checkpoint", () => {
    const lines = Array.from({ length: 63 }, (_, i) => `N${i}=v`);
    const tail = Array.from({ length: 70 }, (_, i) => `M${i}=w`);
    const before = [...lines, "Q='abc", "R=1'", ...tail].join("\n");
    const quote = before.indexOf("1'") + 1;
    const after = `${before.slice(0, quote)}x${before.slice(quote + 1)}`;
    const cases: Record<string, string>[] = [{ N0: "v" }, { M69: "w" }, { Q: "'abc", R: "1x" }];
    for (const values of cases) {
      expect(holdsByEditor(before, after, values, quote, quote + 1)).toBe(holdsByDotenv(before, after, values));
    }
    expect(holdsByDotenv(before, after, { N0: "v" })).toBe(false);
    expect(holdsByDotenv(before, after, { Q: "'abc", R: "1x" })).toBe(true);
  });

  // Past the first checkpoint (64 searches) the check reuses searches before the bounds it is given:
  // bounds after the real change must be found out by comparing the texts, not trusted.
  test("on a file longer than a checkpoint, bounds after the real change", () => {
    const before = Array.from({ length: 300 }, (_, i) => `N${i}=v${i}\n`).join("");
    const change = (name: string, insert: string) => {
      const [a] = findAssignments(before, [name]);
      if (a === undefined) throw new Error(`no ${name}`);
      return `${before.slice(0, a.valueStart)}${insert}${before.slice(a.valueEnd)}`;
    };
    const late = before.indexOf("N250=") + 5;
    // The edit holds, told it is at N250 or at the end.
    const held = change("N10", "NEW");
    expect(holdsByEditor(before, held, { N10: "NEW" }, late, late + 4)).toBe(true);
    expect(holdsByEditor(before, held, { N10: "NEW" }, before.length, before.length)).toBe(true);
    // An unterminated quote swallows N11 (dotenv reads N10 as the rest of the file, to a quote that never comes).
    const broken = change("N10", "'NEW");
    expect(holdsByDotenv(before, broken, { N250: "v250" })).toBe(false);
    expect(holdsByEditor(before, broken, { N250: "v250" }, late, late + 4)).toBe(false);
  });

  // Raw texts that differ but decode the same: only the value counts.
  test("another variable whose text changes but whose value does not", () => {
    const cases: [string, string][] = [
      ["B=x #c\nA=1\n", "B=x#c\nA=1\n"],
      ["B='x'\nA=1\n", 'B="x"\nA=1\n'],
    ];
    for (const [before, after] of cases) {
      expect(holdsByDotenv(before, after, { A: "1" })).toBe(true);
      expect(holdsByEditor(before, after, { A: "1" }, 0, before.length)).toBe(true);
    }
  });

  test("the refusal names the variables read wrong, or says other variables", () => {
    const message = (before: string, after: string, values: Record<string, string>) => {
      try {
        assertOnlyValuesChanged(before, after, values, 0, before.length);
      } catch (error) {
        return (error as Error).message;
      }
      return "held";
    };
    expect(message("A=1\nB=2\n", "A=1\nB=2\n", { A: "x", B: "y" })).toContain("would make A and B read differently after the edit");
    expect(message("A=1\nB=2\n", "A='1\nB=2\n", { B: "2" })).toContain("would make other variables read differently after the edit");
    expect(message("A=1\nB=2\n", "A=1\nB=3\n", { B: "3" })).toBe("held");
  });

  test("on the editor's fixtures, each value replaced", () => {
    for (const fixture of editorFixtures) {
      for (const a of findAssignments(fixture.before, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PORT"])) {
        const after = `${fixture.before.slice(0, a.valueStart)}NEW${fixture.before.slice(a.valueEnd)}`;
        const values = { [a.name]: "NEW" };
        expect(holdsByEditor(fixture.before, after, values, a.valueStart, a.valueEnd)).toBe(holdsByDotenv(fixture.before, after, values));
      }
    }
  });
});

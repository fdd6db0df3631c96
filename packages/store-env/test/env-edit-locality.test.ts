import { describe, expect, test, vi } from "vitest";
import { editEnv, findAssignments, parseEnv } from "../src/env-editor.js";

// What the edit's check costs: how many searches of dotenv's rule it makes. Its verdict is held to
// dotenv's full parse by env-edit-check.test.ts, but a check that searched the whole file again would
// pass those tests too, and searching only around the change is what makes an edit of a file of
// megabytes take milliseconds. Nothing real counts searches, so the scanner is wrapped: every step is
// the real one, only counted.
const searches = vi.hoisted(() => ({ count: 0 }));
vi.mock("../src/env-scan.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/env-scan.js")>();
  return {
    ...real,
    envScanner: (text: string) => {
      const step = real.envScanner(text);
      return (from: number, found: number[]) => {
        searches.count++;
        return step(from, found);
      };
    },
  };
});

// The editor keeps a checkpoint every 64 searches (env-editor.ts, `CHECKPOINT`). The check goes back
// to the last checkpoint before the change, searches each text from there through the changed line,
// then once more in each, where both searches start at the same place past the change and the rest is
// known to agree. On a file of one assignment per line, a change in line L (0-based) costs
// `L % 64 + 2` searches per text.
const CHECKPOINT = 64;
const around = (line: number) => 2 * ((line % CHECKPOINT) + 2);

/** A file of `count` one-line assignments `N<i>=v<i>`, with `eol` after each. */
function file(count: number, eol: string): string {
  return Array.from({ length: count }, (_, i) => `N${i}=v${i}${eol}`).join("");
}

/** The searches `run` makes once the file's scan is cached (as after a read of the same text). */
function searchesOf(text: string, names: readonly string[], run: () => unknown): number {
  findAssignments(text, names);
  searches.count = 0;
  run();
  return searches.count;
}

describe("the edit's check searches again only around the change", () => {
  // A quoted value's search looks for its closing quote and past it: it must still count as having
  // read only its own line and the next character, or no checkpoint could be reused.
  for (const quote of ["'", '"', "`"]) {
    test(`in a file of ${quote}-quoted values`, () => {
      const text = Array.from({ length: 2_000 }, (_, i) => `N${i}=${quote}v${i}${quote}\n`).join("");
      const count = searchesOf(text, ["N1000"], () => expect(editEnv(text, { N1000: "NEW" })).toContain(`N1000=${quote}NEW${quote}\n`));
      expect(count).toBe(around(1000));
    });
  }

  for (const [label, eol] of [
    ["LF", "\n"],
    ["CRLF", "\r\n"],
  ] as const) {
    // 2,000 lines: searching the whole file again would be 2,001 searches per text.
    const text = file(2_000, eol);

    test(`a value set in the middle (${label})`, () => {
      const count = searchesOf(text, ["N1000"], () => expect(editEnv(text, { N1000: "NEW" })).toContain(`N1000=NEW${eol}`));
      expect(count).toBe(around(1000));
    });

    test(`values set near the start and near the end (${label})`, () => {
      for (const line of [0, 1, 63, 64, 70, 1998, 1999]) {
        const name = `N${line}`;
        const count = searchesOf(text, [name], () => expect(editEnv(text, { [name]: "NEW" })).toContain(`${name}=NEW${eol}`));
        expect(count, name).toBe(around(line));
      }
    });

    // A read of every assignment (parseEnv) serves an edit of a few names: the file is not scanned again.
    test(`a value set after parseEnv read the same text (${label})`, () => {
      parseEnv(text);
      searches.count = 0;
      expect(editEnv(text, { N1000: "NEW" })).toContain(`N1000=NEW${eol}`);
      expect(searches.count).toBe(around(1000));
    });

    test(`a name appended at the end (${label})`, () => {
      const count = searchesOf(text, ["ADDED"], () => expect(editEnv(text, { ADDED: "x" })).toBe(`${text}ADDED=x${eol}`));
      // Line 2,000 is new: the text before has one search fewer, the one that finds it.
      expect(count).toBe(around(2_000) - 1);
    });

    // Appended after the last value changed: the change runs from that value to the end.
    test(`a value set and a name appended (${label})`, () => {
      const count = searchesOf(text, ["N1990", "ADDED"], () => expect(editEnv(text, { N1990: "NEW", ADDED: "x" })).toMatch(/N1990=NEW[\s\S]*ADDED=x/));
      expect(count).toBe(2 * (2_000 - (1990 - (1990 % CHECKPOINT)) + 2) - 1);
    });

    test(`two values far apart: everything between them is searched again, nothing more (${label})`, () => {
      const count = searchesOf(text, ["N600", "N1100"], () => editEnv(text, { N600: "NEW", N1100: "NEW" }));
      // From the checkpoint before line 600 through line 1100, and one more, in each text.
      expect(count).toBe(2 * (1100 - (600 - (600 % CHECKPOINT)) + 2));
    });
  }
});

import { createStoreError } from "@keyup/core";
import { spliceText, type TextEdit } from "@keyup/core/files";
import { envScanner, NAME_END, NAME_START, PREFIX, REACH, START, STRIDE, VALUE_END, VALUE_START } from "./env-scan.js";

/**
 * The quoting of a value as written: `'…'`, `"…"`, `` `…` ``, or none.
 *
 * @example
 * ```ts
 * const style: EnvQuote = parseEnv('A="x"')[0]!.quote; // '"'
 * ```
 */
export type EnvQuote = "'" | '"' | "`" | "";

/**
 * One `NAME=value` assignment of a `.env` file, as `dotenv` reads it, with where it sits in the text.
 *
 * @example
 * ```ts
 * const [a] = parseEnv("export A = 'x' # note\n");
 * // a = { name: "A", value: "x", quote: "'", exported: true, line: 1, valueStart: 12, valueEnd: 13, … }
 * ```
 */
export interface EnvAssignment {
  readonly name: string;
  /** The value exactly as `dotenv.parse` returns it. */
  readonly value: string;
  readonly quote: EnvQuote;
  /** Whether the assignment starts with `export `. */
  readonly exported: boolean;
  /** What joins name and value, including the value's leading spaces (`=`, ` = `, `: `). */
  readonly separator: string;
  /** 1-based line of the name. */
  readonly line: number;
  /** Offsets into the original text of the value's characters (inside the quotes, without padding). */
  readonly valueStart: number;
  readonly valueEnd: number;
}

// dotenv 17 reads a line with one regular expression (lib/main.js); env-scan.ts is that expression
// worked out by hand, match for match (test/env-scan.test.ts holds it to dotenv's own). Using dotenv's
// rule rather than a grammar of our own means a value we edit is the value dotenv reads, even in its
// odd corners (multi-line quoted values, `KEY: value`, `#` ending an unquoted value). The expression
// took 60 ms over a 3.6 MiB file, and an edit scanned such a file three times.

/**
 * dotenv matches on text with every line ending turned into `\n`; `at` maps an offset in that text
 * back to the original. Only a `\r\n` shortens the text, so the map is the sorted list of where that
 * happened (a binary search), not an entry per character: files of megabytes are read in milliseconds.
 */
function normalise(text: string): Normalised {
  if (!text.includes("\r")) return { normal: text, at: (offset) => Math.min(offset, text.length), near: (offset) => offset };
  // Normal offsets just past each `\r\n` turned into `\n`: the original is one further on per entry before.
  const shortened: number[] = [];
  const normal = text.replace(/\r\n?/g, (match, offset: number) => {
    if (match.length === 2) shortened.push(offset - shortened.length + 1);
    return "\n";
  });
  const at = (offset: number): number => {
    let low = 0;
    let high = shortened.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((shortened[mid] as number) <= offset) low = mid + 1;
      else high = mid;
    }
    return Math.min(offset + low, text.length);
  };
  // Roughly the other way (an offset of the original in the normal text, give or take the `\n` of a
  // `\r\n`): the edit's check verifies whatever it is given.
  const near = (offset: number): number => {
    let low = 0;
    let high = shortened.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((shortened[mid] as number) + mid < offset) low = mid + 1;
      else high = mid;
    }
    return offset - low;
  };
  return { normal, at, near };
}

interface Normalised {
  /** The text with each `\r\n` and lone `\r` turned into `\n`, as dotenv reads it. */
  readonly normal: string;
  /** An offset into `normal` as an offset into the original text. */
  readonly at: (offset: number) => number;
  /** An offset into the original text as about the same place in `normal`. */
  readonly near: (offset: number) => number;
}

/** dotenv's value decoding, step for step. */
function decode(raw: string): string {
  const value = raw.trim();
  // On one line (the text is normalised: no `\r`) dotenv's `/^(['"`])([\s\S]*)\1$/gm` can only match
  // the whole value, so it is a look at both ends; a value spanning lines takes dotenv's own steps.
  const unquoted = ONE_LINE.test(value) ? (isQuoted(value) ? value.slice(1, -1) : value) : value.replace(/^(['"`])([\s\S]*)\1$/gm, "$2");
  return value[0] === '"' && unquoted.includes("\\") ? unquoted.replace(/\\n/g, "\n").replace(/\\r/g, "\r") : unquoted;
}

// No line terminator a multi-line regular expression's `^` and `$` would see (the text has no `\r`).
const ONE_LINE = /^[^\n\u2028\u2029]*$/;

/** `/^(['"`])[\s\S]*\1$/.test(value)`: the same quote at both ends of at least two characters. */
function isQuoted(value: string): boolean {
  const first = value[0];
  return value.length >= 2 && (first === "'" || first === '"' || first === "`") && value[value.length - 1] === first;
}

/**
 * Every assignment in a `.env` text, in order, read by dotenv's rules: `KEY=value`, an optional
 * `export ` prefix, spaces around `=`, single/double/backtick quotes (double quotes expand `\n`),
 * unquoted values ending at `#`, comments and blank lines skipped, CRLF or LF. A name may appear
 * more than once (dotenv keeps the last); callers decide whether that is acceptable.
 *
 * @example
 * ```ts
 * parseEnv("# app\nexport PORT=3000\nAWS_ACCESS_KEY_ID=AKIA… # ci\n").map((a) => a.name);
 * // ["PORT", "AWS_ACCESS_KEY_ID"]
 * ```
 */
export function parseEnv(text: string): EnvAssignment[] {
  return collect(scanned(text));
}

/**
 * The assignments of `names` in a `.env` text, in order: what `parseEnv(text).filter((a) =>
 * names.includes(a.name))` returns, found by the same scan of the whole text (an assignment's extent
 * depends on everything before it) but without building the other assignments, which was most of the
 * time on a large file. Not part of the package's API: the store's reads and edits look for a few names.
 *
 * @example
 * ```ts
 * findAssignments("A=1\nB=2\nA=3\n", ["A"]).map((a) => a.line); // [1, 3]
 * ```
 */
export function findAssignments(text: string, names: readonly string[]): EnvAssignment[] {
  return collect(scanned(text, names), names);
}

/** A text, its normal form, and what a scan of it keeps. */
interface Scanned extends Normalised {
  readonly text: string;
  /** The names whose matches were kept; `undefined` for every match. */
  readonly names: ReadonlySet<string> | undefined;
  /** Those matches, `STRIDE` numbers each (env-scan.ts). */
  readonly matches: readonly number[];
  /**
   * Every `CHECKPOINT`th search: where it started and one past the furthest character every search
   * before it looked at, in threes. The edit's check starts searching again from one of them.
   */
  readonly checkpoints: readonly number[];
}

const CHECKPOINT = 64;

// The last text scanned: a rotation reads the file, then edits the same text, and the edit's check
// starts from the scan of the text it edits.
let lastScan: Scanned | undefined;

/** The scan of `text`, keeping the matches of `names` (of every name when there are none). */
function scanned(text: string, names?: readonly string[]): Scanned {
  const cached = lastScan;
  if (cached?.text === text && (cached.names === undefined || names?.every((name) => cached.names?.has(name)))) {
    return cached;
  }
  const normalised = normalise(text);
  const { normal } = normalised;
  const step = envScanner(normal);
  const found: number[] = [];
  const matches: number[] = [];
  const checkpoints: number[] = [];
  let reach = 0;
  let count = 0;
  for (let from = 0; from !== -1; count++) {
    if (count % CHECKPOINT === 0) checkpoints.push(count, from, reach);
    const end = step(from, found);
    if (end === -1) break;
    reach = Math.max(reach, found[REACH] as number);
    if (names === undefined || isNamed(normal, found, 0, names)) for (let field = 0; field < STRIDE; field++) matches.push(found[field] as number);
    from = end;
  }
  lastScan = { text, ...normalised, names: names === undefined ? undefined : new Set(names), matches, checkpoints };
  return lastScan;
}

/** Whether the name of the match at `i` (an index into `matches`) is one of `names`. */
function isNamed(normal: string, matches: readonly number[], i: number, names: readonly string[]): boolean {
  const start = matches[i + NAME_START] as number;
  const length = (matches[i + NAME_END] as number) - start;
  return names.some((name) => name.length === length && normal.startsWith(name, start));
}

/** The match at `i` as dotenv's captures: its name and its raw value (`""` when there is none). */
function nameOf(normal: string, matches: readonly number[], i: number): string {
  return normal.slice(matches[i + NAME_START], matches[i + NAME_END]);
}

function rawOf(normal: string, matches: readonly number[], i: number): string {
  const end = matches[i + VALUE_END] as number;
  return end === -1 ? "" : normal.slice(matches[i + VALUE_START], end);
}

/** Every assignment of a scanned text, or only those named in `wanted`. */
function collect({ normal, at, matches }: Scanned, wanted?: readonly string[]): EnvAssignment[] {
  const out: EnvAssignment[] = [];
  // Line numbers are counted on from the previous match, not from the start each time.
  let counted = 0;
  let line = 1;
  const lineOf = (offset: number): number => {
    for (let i = normal.indexOf("\n", counted); i !== -1 && i < offset; i = normal.indexOf("\n", i + 1)) line++;
    counted = Math.max(counted, offset);
    return line;
  };
  for (let i = 0; i < matches.length; i += STRIDE) {
    if (wanted !== undefined && !isNamed(normal, matches, i, wanted)) continue;
    const name = nameOf(normal, matches, i);
    const nameStart = matches[i + NAME_START] as number;
    const exported = nameStart !== matches[i + PREFIX];
    const joint = normal.slice(matches[i + NAME_END], matches[i + VALUE_START]);
    const raw = rawOf(normal, matches, i);
    // The value's capture starts where the separator's ends, present or not.
    const rawStart = matches[i + VALUE_START] as number;
    const trimmedStart = raw.length - raw.trimStart().length;
    const trimmed = raw.trim();
    const quoted = isQuoted(trimmed);
    const quote = (quoted ? trimmed[0] : "") as EnvQuote;
    // An all-blank unquoted value is empty at its start, so the padding stays after a value written there.
    const innerStart = rawStart + (trimmed === "" ? 0 : trimmedStart) + (quoted ? 1 : 0);
    const innerEnd = trimmed === "" ? innerStart : rawStart + trimmedStart + trimmed.length - (quoted ? 1 : 0);
    out.push({
      name,
      value: decode(raw),
      quote,
      exported,
      separator: joint + (trimmed === "" ? "" : raw.slice(0, trimmedStart)),
      line: lineOf(nameStart),
      valueStart: at(innerStart),
      valueEnd: at(innerEnd),
    });
  }
  return out;
}

/**
 * The line ending a text uses (its first one), `\n` when it has none.
 *
 * @example
 * ```ts
 * lineEnding("A=1\r\nB=2\r\n"); // "\r\n"
 * ```
 */
export function lineEnding(text: string): string {
  return /\r\n|\n|\r/.exec(text)?.[0] ?? "\n";
}

// What a value may hold so that it means the same unquoted, in any quotes, and to a shell.
const SAFE_VALUE = /^[^\s"'`#\\$]+$/;

/**
 * Sets `values` in a `.env` text, changing nothing else: each existing assignment keeps its
 * `export `, spacing, quote style and inline comment, and only the characters of its value change;
 * a missing name is appended as a new line (in the style of the other names being set, with the
 * text's line ending, after adding a final line break if the text lacks one). Setting a value a
 * name already has leaves the text identical. Pure: no I/O.
 *
 * Throws a store error `EINVALID` when a name is assigned more than once (which one would count is
 * a guess) or when, read back by dotenv's rules, the result would not hold exactly the new values
 * and every other variable unchanged; `EBADKEY` for a value that cannot be written unquoted safely
 * (whitespace, quotes, `#`, `\`, `$`). Messages name variables and lines, never values.
 *
 * @example
 * ```ts
 * editEnv("# keys\nexport AWS_ACCESS_KEY_ID='AKIAOLD'  # ci\r\n", {
 *   AWS_ACCESS_KEY_ID: "AKIANEW",
 *   AWS_SECRET_ACCESS_KEY: secret,
 * });
 * // "# keys\nexport AWS_ACCESS_KEY_ID='AKIANEW'  # ci\r\nexport AWS_SECRET_ACCESS_KEY='…'\n"
 * ```
 */
export function editEnv(text: string, values: Readonly<Record<string, string>>): string {
  const names = Object.keys(values);
  const assignments = findAssignments(text, names);
  const edits: TextEdit[] = [];
  const missing: string[] = [];
  let model: EnvAssignment | undefined;

  for (const name of names) {
    const value = values[name] as string;
    if (!SAFE_VALUE.test(value)) {
      throw createStoreError("EBADKEY", `the value for ${name} is empty or holds whitespace, quotes, #, \\ or $, so it cannot be written safely`);
    }
    const found = assignments.filter((a) => a.name === name);
    if (found.length > 1) {
      throw createStoreError(
        "EINVALID",
        `${name} is assigned ${found.length} times (lines ${found.map((a) => a.line).join(", ")}): refusing to guess which one counts`,
      );
    }
    const [current] = found;
    if (!current) {
      missing.push(name);
      continue;
    }
    model ??= current;
    if (current.value === value) continue;
    // Inserting right before a `#` would glue the value to a comment that shells read as part of it.
    const pad = current.quote === "" && current.valueStart === current.valueEnd && text[current.valueEnd] === "#" ? " " : "";
    edits.push({ start: current.valueStart, end: current.valueEnd, insert: value + pad });
  }

  // One splice of the original text: slicing an edited text again would copy the whole file once per edit.
  let result = spliceText(text, edits);
  if (missing.length > 0) {
    const eol = lineEnding(text);
    if (result.length > 0 && !/[\r\n]$/.test(result)) result += eol;
    const prefix = model?.exported ? "export " : "";
    const separator = model?.separator ?? "=";
    const quote = model?.quote ?? "";
    for (const name of missing) result += `${prefix}${name}${separator}${quote}${values[name]}${quote}${eol}`;
  }

  // `result` differs from `text` from the first edit to the last, or to the end when names were appended.
  const spans = [...edits, ...(missing.length > 0 ? [{ start: text.length, end: text.length }] : [])];
  const from = Math.min(text.length, ...spans.map((span) => span.start));
  const to = Math.max(from, ...spans.map((span) => span.end));
  assertOnlyValuesChanged(text, result, values, from, to);
  return result;
}

/**
 * The edit's postcondition, checked by dotenv's rules rather than trusted: read back, `after` holds
 * each of `values` exactly once, and every other assignment of `before`, in order, with its value
 * (two matches whose raw value text is the same decode to the same value; only differing ones are
 * decoded and compared).
 *
 * `after` is `before` with the characters from `from` to `to` replaced, and dotenv's matches in it are
 * not all searched for again. A search that looked only at characters before the change finds in
 * `after` what it found in `before` (env-scan.ts records how far each search looked); and once a
 * search in `after` starts past the change where one in `before` started, every search from there
 * finds what it found in `before`, shifted (a search looks at nothing before the character ahead of
 * its start). So `after`'s matches are `before`'s up to the change, those found anew around it, and
 * `before`'s after it: comparing the two full lists pair by pair comes to comparing the middle ones.
 * That the texts are the same outside the change is verified here, not assumed: if not, everything
 * is searched again. Not part of the package's API: exported for its tests.
 *
 * @throws A store error `EINVALID` (naming the variables, never a value) when the check fails.
 *
 * @example
 * ```ts
 * assertOnlyValuesChanged("A=1\nB=2\n", "A=1\nB=3\n", { B: "3" }, 6, 7); // passes
 * assertOnlyValuesChanged("A='1\nB=2\n", "A='1\nB=3'\n", { B: "3" }, 6, 7); // throws EINVALID
 * ```
 */
export function assertOnlyValuesChanged(before: string, after: string, values: Readonly<Record<string, string>>, from: number, to: number): void {
  const names = Object.keys(values);
  const { normal, matches, near, checkpoints } = scanned(before, names);
  const changed = normalise(after).normal;
  // The same start and the same end in the normal texts, give or take a `\r\n` at a bound.
  let sameStart = Math.max(0, near(from) - 1);
  let sameEnd = Math.max(0, normal.length - near(to) - 1);
  if (
    sameStart + sameEnd > Math.min(normal.length, changed.length) ||
    !changed.startsWith(normal.slice(0, sameStart)) ||
    !changed.endsWith(normal.slice(normal.length - sameEnd))
  ) {
    sameStart = 0;
    sameEnd = 0;
  }
  const shift = changed.length - normal.length;

  // The last checkpoint before which every search looked only at the common start: from there on,
  // both texts are searched, side by side, until a search of each starts at the same place within
  // the common end (or both have found everything).
  let start = 0;
  for (let i = 0; i < checkpoints.length && (checkpoints[i + 2] as number) <= sameStart; i += 3) start = checkpoints[i + 1] as number;
  const [stepBefore, stepAfter] = [envScanner(normal), envScanner(changed)];
  const found: number[] = [];
  const middleBefore: number[] = [];
  const middleAfter: number[] = [];
  let was = start;
  let is = start;
  for (;;) {
    if (was === DONE && is === DONE) break;
    if (was !== DONE && is !== DONE && is - shift === was && is > changed.length - sameEnd) break;
    if (was !== DONE && (is === DONE || was <= is - shift)) {
      const end = stepBefore(was, found);
      if (end !== -1) middleBefore.push(...found);
      was = end === -1 ? DONE : end;
    } else {
      const end = stepAfter(is, found);
      if (end !== -1) middleAfter.push(...found);
      is = end === -1 ? DONE : end;
    }
  }

  // The matches of the names set before `start` and after `was` are the same in both texts.
  const setAfter = new Map<string, string[]>();
  const noteSet = (text: string, list: readonly number[], i: number) => {
    const name = nameOf(text, list, i);
    setAfter.set(name, [...(setAfter.get(name) ?? []), decode(rawOf(text, list, i))]);
  };
  for (let i = 0; i < matches.length; i += STRIDE) {
    const matchStart = matches[i + START] as number;
    if ((matchStart < start || matchStart >= was) && isNamed(normal, matches, i, names)) noteSet(normal, matches, i);
  }
  const othersBefore: number[] = [];
  for (let i = 0; i < middleBefore.length; i += STRIDE) if (!isNamed(normal, middleBefore, i, names)) othersBefore.push(i);
  const othersAfter: number[] = [];
  for (let i = 0; i < middleAfter.length; i += STRIDE) {
    if (isNamed(changed, middleAfter, i, names)) noteSet(changed, middleAfter, i);
    else othersAfter.push(i);
  }
  const changedOthers =
    othersBefore.length !== othersAfter.length ||
    othersBefore.some((wasAt, k) => {
      const isAt = othersAfter[k] as number;
      const [wasRaw, isRaw] = [rawOf(normal, middleBefore, wasAt), rawOf(changed, middleAfter, isAt)];
      return nameOf(normal, middleBefore, wasAt) !== nameOf(changed, middleAfter, isAt) || (wasRaw !== isRaw && decode(wasRaw) !== decode(isRaw));
    });
  const wrong = Object.entries(values).filter(([name, value]) => {
    const set = setAfter.get(name) ?? [];
    return set.length !== 1 || set[0] !== value;
  });
  if (changedOthers || wrong.length > 0) {
    throw createStoreError(
      "EINVALID",
      `refusing to edit: the file has a construct (such as an unterminated quote) that would make ${
        wrong.length > 0 ? wrong.map(([name]) => name).join(" and ") : "other variables"
      } read differently after the edit`,
    );
  }
}

// A search that found nothing: every later one finds nothing too.
const DONE = Number.POSITIVE_INFINITY;

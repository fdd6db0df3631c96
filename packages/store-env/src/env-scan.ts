/**
 * dotenv's line rule, hand-written: what `LINE.exec` finds, match after match, without a regular
 * expression. dotenv 17 (lib/main.js, BSD-2-Clause) reads a `.env` file with
 *
 *   /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/mg
 *
 * and on a file of megabytes V8's backtracking engine spends tens of milliseconds trying it at every
 * position. The steps below are that expression's backtracking worked out once, case by case (each
 * comment says which part it is and why the engine can take no other path); test/env-scan.test.ts
 * runs both on generated and adversarial texts and compares every capture and every `lastIndex`.
 *
 * Every step also records how far into the text it looked (`reach`), so that an edit's check can
 * tell which matches of a text cannot change when the text changes only after that point.
 */

/** The text a step looks at, and the furthest position it has looked at so far. */
interface Cursor {
  readonly text: string;
  readonly length: number;
  /** `\n` is the only character ending a line (no `\r`, U+2028 or U+2029): lines are found with `indexOf`. */
  readonly onlyNewlines: boolean;
  /** The furthest position examined; `length` when the end of the text was. */
  furthest: number;
  /** Where the quoted value last found ends, and its match. */
  valueEnd: number;
  end: number;
}

// Fields of one match in `EnvScan.matches`, `STRIDE` numbers per match.
/** Where the match starts (`match.index`): a line start. */
export const START = 0;
/** Where `export` starts, or the name when there is none: the blank space before it ends here. */
export const PREFIX = 1;
export const NAME_START = 2;
export const NAME_END = 3;
/** Where the value capture starts: the separator (`=`, ` = `, `: `) ends here, present or not. */
export const VALUE_START = 4;
/** Where the value capture ends; `-1` when the value group took no part in the match. */
export const VALUE_END = 5;
/** `lastIndex` after the match: where the next search starts. */
export const END = 6;
/** One past the furthest position the step that found this match examined; `length + 1` if it saw the end. */
export const REACH = 7;
export const STRIDE = 8;

/**
 * Every match of dotenv's rule in a text, as flat numbers (`STRIDE` per match, fields `START` to
 * `REACH`): eighty thousand matches are one array of small integers, not eighty thousand objects.
 *
 * @example
 * ```ts
 * const { matches } = scanEnv("A=1\n");
 * [matches[NAME_START], matches[NAME_END]]; // [0, 1]
 * ```
 */
export interface EnvScan {
  readonly text: string;
  readonly matches: readonly number[];
}

/**
 * dotenv's matches of `text`, in order, as `LINE.exec` finds them one after another on the same
 * text (dotenv runs it on the text with line endings turned into `\n`; so does the editor).
 *
 * @example
 * ```ts
 * const { matches } = scanEnv("# c\nexport A = 'x' # y\n");
 * matches[NAME_START]; // 11, after "export "
 * ```
 */
export function scanEnv(text: string): EnvScan {
  const matches: number[] = [];
  const found: number[] = [];
  const step = envScanner(text);
  for (let from = step(0, found); from !== -1; from = step(from, found)) matches.push(...found);
  return { text, matches };
}

/**
 * One search of dotenv's rule at a time over `text`: `step(from, found)` looks for the next match
 * from `from` (a `lastIndex`), writes its fields into `found[0]` to `found[STRIDE - 1]` and returns
 * its `END`, or returns `-1` when there is none (a search that has read to the end of the text).
 * Nothing is allocated per search: on a file of megabytes, growing memory was half the time.
 *
 * @example
 * ```ts
 * const found: number[] = [];
 * envScanner("A=1\nB=2\n")(3, found); // 7; found[NAME_START] === 4
 * ```
 */
export function envScanner(text: string): (from: number, found: number[]) => number {
  const cursor: Cursor = {
    text,
    length: text.length,
    onlyNewlines: !text.includes("\r") && !text.includes("\u2028") && !text.includes("\u2029"),
    furthest: 0,
    valueEnd: 0,
    end: 0,
  };
  return (from, found) => {
    cursor.furthest = from > 0 ? from - 1 : 0;
    // `^` holds at the start and after a line ending; the search tries each such position in turn.
    let start = from === 0 || isLineEnd(text.charCodeAt(from - 1)) ? from : nextLineStart(cursor, from);
    while (start !== -1) {
      if (matchAt(cursor, start, found)) return found[END] as number;
      start = nextLineStart(cursor, start);
    }
    return -1;
  };
}

/** `^\s*(?:export\s+)?…` at a line start: pushes the match and returns true, or returns false. */
function matchAt(cursor: Cursor, start: number, found: number[]): boolean {
  const { text } = cursor;
  // `\s*` is greedy and what follows (`export` or a name) starts with no blank, so it takes every blank.
  const prefix = skipBlanks(cursor, start);
  // `(?:export\s+)?` is tried first with `export`: `\s+` takes every blank for the same reason.
  if (text.startsWith("export", prefix)) {
    see(cursor, prefix + 6);
    if (isBlank(text.charCodeAt(prefix + 6)) && afterPrefix(cursor, start, prefix, skipBlanks(cursor, prefix + 6), found)) return true;
  } else {
    // `startsWith` stopped somewhere in those six characters (or at the end of the text).
    see(cursor, prefix + 5);
  }
  return afterPrefix(cursor, start, prefix, prefix, found);
}

/** `([\w.-]+)(?:\s*=\s*?|:\s+?)(value)?\s*(?:#.*)?$` from `nameStart`. */
function afterPrefix(cursor: Cursor, start: number, prefix: number, nameStart: number, found: number[]): boolean {
  const { text, length } = cursor;
  // `[\w.-]+` is greedy, and a shorter name would leave a name character where a blank, `=` or `:` must follow.
  let nameEnd = nameStart;
  while (nameEnd < length && isNameCharacter(text.charCodeAt(nameEnd))) nameEnd++;
  see(cursor, nameEnd);
  if (nameEnd === nameStart) return false;
  // `\s*=`: `\s*` takes every blank (a shorter run would leave a blank where `=` must be). Only when
  // that finds no `=` is `:\s+?` tried, and it needs the `:` right after the name.
  const equals = skipBlanks(cursor, nameEnd);
  let valueStart: number;
  if (text.charCodeAt(equals) === EQUALS) valueStart = equals + 1;
  else if (text.charCodeAt(nameEnd) === COLON && isBlank(text.charCodeAt(nameEnd + 1))) valueStart = nameEnd + 2;
  else {
    see(cursor, nameEnd + 1);
    return false;
  }
  see(cursor, valueStart - 1);
  // The lazy `\s*?` after `=` (and `\s+?` after `:`) stops at its shortest: from there the value and
  // the rest always match (below), so the engine never comes back to take more blanks.
  let valueEnd: number;
  let end: number;
  if (quotedValue(cursor, valueStart)) {
    valueEnd = cursor.valueEnd;
    end = cursor.end;
  } else if (valueStart < length && !endsUnquoted(text.charCodeAt(valueStart))) {
    // `[^#\r\n]+`, greedy: it stops before `#`, a line ending or the end, where the rest always matches.
    valueEnd = valueStart;
    while (valueEnd < length && !endsUnquoted(text.charCodeAt(valueEnd))) valueEnd++;
    see(cursor, valueEnd);
    end = rest(cursor, valueEnd);
  } else {
    // No value: `\s*(?:#.*)?$` at `#`, a line ending or the end always matches.
    see(cursor, valueStart);
    valueEnd = -1;
    end = rest(cursor, valueStart);
  }
  found[START] = start;
  found[PREFIX] = prefix;
  found[NAME_START] = nameStart;
  found[NAME_END] = nameEnd;
  found[VALUE_START] = valueStart;
  found[VALUE_END] = valueEnd;
  found[END] = end;
  found[REACH] = cursor.furthest + 1;
  return true;
}

/**
 * `\s*'(?:\\'|[^'])*'` (or with `"` or a backtick) from `valueStart` followed by the rest of the rule:
 * true with the value's end and the match's in `cursor`, or false when the engine would give up on
 * the quoted alternatives.
 */
function quotedValue(cursor: Cursor, valueStart: number): boolean {
  const { text } = cursor;
  // The three alternatives each begin with `\s*` and their quote: only the one whose quote follows
  // the blanks can match.
  const open = skipBlanks(cursor, valueStart);
  const quote = text.charCodeAt(open);
  if (quote !== SINGLE && quote !== DOUBLE && quote !== BACKTICK) return false;
  const mark = text[open] as string;
  // `(?:\\'|[^'])*` is greedy: it takes `\'` as a pair wherever it can and stops at the first quote
  // with no backslash before it, the first place where the closing quote may be tried.
  let first = open + 1;
  for (;;) {
    first = text.indexOf(mark, first);
    if (first === -1 || text.charCodeAt(first - 1) !== BACKSLASH) break;
    first++;
  }
  see(cursor, first === -1 ? cursor.length : first);
  if (first !== -1) {
    const end = rest(cursor, first + 1);
    if (end !== -1) return closed(cursor, first + 1, end);
  }
  // Backtracking gives the pairs back from the last: a `\'` taken as `\` alone lets its quote close
  // the value. Every quote before `first` has a backslash before it (or it would be `first`).
  for (let close = text.lastIndexOf(mark, (first === -1 ? cursor.length : first) - 1); close > open + 1; close = text.lastIndexOf(mark, close - 1)) {
    if (text.charCodeAt(close - 1) !== BACKSLASH) continue;
    const end = rest(cursor, close + 1);
    if (end !== -1) return closed(cursor, close + 1, end);
  }
  return false;
}

function closed(cursor: Cursor, valueEnd: number, end: number): true {
  cursor.valueEnd = valueEnd;
  cursor.end = end;
  return true;
}

/**
 * `\s*(?:#.*)?(?:$|$)` from `at`: where the match ends, or `-1` when it cannot match there. `\s*` is
 * greedy (it crosses line endings); after it a `#` starts a comment that `.*` takes to the line's
 * end, or the text must end; failing both, the engine gives blanks back until `$` holds, which is
 * before the last line ending among them. Before `#`, a line ending or the end it always matches.
 */
function rest(cursor: Cursor, at: number): number {
  const { text, length } = cursor;
  const after = skipBlanks(cursor, at);
  if (after === length) return length;
  if (text.charCodeAt(after) === HASH) return nextLineEnd(cursor, after);
  for (let i = after - 1; i >= at; i--) if (isLineEnd(text.charCodeAt(i))) return i;
  return -1;
}

/** The first position from `at` that is not a blank (`\s`), or the text's length. */
function skipBlanks(cursor: Cursor, at: number): number {
  const { text, length } = cursor;
  let i = at;
  while (i < length && isBlank(text.charCodeAt(i))) i++;
  see(cursor, i);
  return i;
}

/** The first line ending at or after `at` (what `.*` stops before), or the text's length. */
function nextLineEnd(cursor: Cursor, at: number): number {
  const { text, length } = cursor;
  let i: number;
  if (cursor.onlyNewlines) {
    i = text.indexOf("\n", at);
    if (i === -1) i = length;
  } else {
    i = at;
    while (i < length && !isLineEnd(text.charCodeAt(i))) i++;
  }
  see(cursor, i);
  return i;
}

/** The first line start after `at` (a position `^` holds at, past a line ending), or `-1`. */
function nextLineStart(cursor: Cursor, at: number): number {
  const end = nextLineEnd(cursor, at);
  return end === cursor.length ? -1 : end + 1;
}

function see(cursor: Cursor, at: number): void {
  const position = Math.min(at, cursor.length);
  if (position > cursor.furthest) cursor.furthest = position;
}

const TAB = 9;
const CARRIAGE_RETURN = 13;
const NEWLINE = 10;
const SPACE = 32;
const HASH = 35;
const DOUBLE = 34;
const SINGLE = 39;
const BACKTICK = 96;
const BACKSLASH = 92;
const EQUALS = 61;
const COLON = 58;

/**
 * `\s` without the `u` flag: tab, line feed, vertical tab, form feed, carriage return, space, the
 * Unicode space separators, U+2028, U+2029 and U+FEFF (test/env-scan.test.ts checks every code unit).
 */
export function isBlank(code: number): boolean {
  if (code === SPACE || (code >= TAB && code <= CARRIAGE_RETURN)) return true;
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** What ends a line for `^`, `$` and `.` without the `s` flag: `\n`, `\r`, U+2028, U+2029. */
export function isLineEnd(code: number): boolean {
  return code === NEWLINE || code === CARRIAGE_RETURN || code === 0x2028 || code === 0x2029;
}

/** `[\w.-]` without the `u` and `i` flags: ASCII letters, digits, `_`, `.` and `-`. */
export function isNameCharacter(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95 || code === 46 || code === 45;
}

/** What `[^#\r\n]` does not take. */
function endsUnquoted(code: number): boolean {
  return code === HASH || code === NEWLINE || code === CARRIAGE_RETURN;
}

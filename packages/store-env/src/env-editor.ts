import { createStoreError } from "@keyup/core";
import { spliceText } from "@keyup/core/files";

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

// dotenv 17's own line rule (lib/main.js, BSD-2-Clause), with every part captured (the leading
// blank space too) so that offsets are known; capturing changes nothing about what matches. Using
// dotenv's rule rather than a hand-written grammar means a value we edit is the value dotenv reads,
// even in its odd corners (multi-line quoted values, `KEY: value`, `#` ending an unquoted value).
// Offsets are summed from the captures, which follow one another: the `d` flag (match indices) made
// V8 build an array of pairs per match, and a 3.6 MiB file took half a second to parse instead of 20 ms.
const LINE = /(?:^|^)(\s*)(export\s+)?([\w.-]+)(\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm;

/**
 * dotenv matches on text with every line ending turned into `\n`; `at` maps an offset in that text
 * back to the original. Only a `\r\n` shortens the text, so the map is the sorted list of where that
 * happened (a binary search), not an entry per character: files of megabytes are read in milliseconds.
 */
function normalise(text: string): { normal: string; at: (offset: number) => number } {
  if (!text.includes("\r")) return { normal: text, at: (offset) => Math.min(offset, text.length) };
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
  return { normal, at };
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
  // A rotation reads the file, then edits the same text: the last parse is kept (copied out, since
  // callers own what they get).
  if (lastParse?.text !== text) lastParse = { text, assignments: collect(text) };
  return [...lastParse.assignments];
}

let lastParse: { readonly text: string; readonly assignments: readonly EnvAssignment[] } | undefined;

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
  // The store's read asks for the key's names and the session token's, its edit for the key's: one scan.
  if (lastFind?.text !== text || names.some((name) => !lastFind?.names.has(name))) {
    lastFind = { text, names: new Set(names), assignments: collect(text, new Set(names)) };
  }
  return lastFind.assignments.filter((a) => names.includes(a.name));
}

let lastFind: { readonly text: string; readonly names: ReadonlySet<string>; readonly assignments: readonly EnvAssignment[] } | undefined;

/** dotenv's matches of a normalised text, one at a time: each scan has its own rule (its own `lastIndex`). */
function matcher(normal: string): () => RegExpExecArray | null {
  const rule = new RegExp(LINE.source, LINE.flags);
  let done = false;
  // After its last match a global rule starts over from the beginning: this one stays at the end.
  return () => {
    const match = done ? null : rule.exec(normal);
    done = match === null;
    return match;
  };
}

/** Every assignment of `text`, or only those named in `wanted`. */
function collect(text: string, wanted?: ReadonlySet<string>): EnvAssignment[] {
  const { normal, at } = normalise(text);
  const out: EnvAssignment[] = [];
  // Line numbers are counted on from the previous match, not from the start each time.
  let counted = 0;
  let line = 1;
  const lineOf = (offset: number): number => {
    for (let i = normal.indexOf("\n", counted); i !== -1 && i < offset; i = normal.indexOf("\n", i + 1)) line++;
    counted = Math.max(counted, offset);
    return line;
  };
  const next = matcher(normal);
  for (let match = next(); match !== null; match = next()) {
    const [, blank = "", exported, name = "", joint = "", raw = ""] = match;
    if (wanted !== undefined && !wanted.has(name)) continue;
    const nameStart = match.index + blank.length + (exported?.length ?? 0);
    // The value's capture starts where the separator's ends, present or not.
    const rawStart = nameStart + name.length + joint.length;
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
      exported: exported !== undefined,
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
  const edits: { start: number; end: number; insert: string }[] = [];
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

  assertOnlyValuesChanged(text, result, values);
  return result;
}

/**
 * The edit's postcondition, checked by dotenv's rules rather than trusted: read back, `after` holds
 * each of `values` exactly once, and every other assignment of `before`, in order, with its value.
 * Both texts are scanned side by side, one match at a time, without building assignments: two
 * matches whose raw value text is the same decode to the same value, and only differing ones are
 * decoded and compared, so this is the comparison of the two full parses, pair by pair.
 */
function assertOnlyValuesChanged(before: string, after: string, values: Readonly<Record<string, string>>): void {
  const setAfter = new Map<string, string[]>();
  const othersOf = (text: string, onSet: (name: string, raw: string) => void) => {
    const next = matcher(normalise(text).normal);
    return (): RegExpExecArray | null => {
      for (let match = next(); match !== null; match = next()) {
        if (!Object.hasOwn(values, match[3] ?? "")) return match;
        onSet(match[3] ?? "", match[5] ?? "");
      }
      return null;
    };
  };
  const nextBefore = othersOf(before, () => undefined);
  const nextAfter = othersOf(after, (name, raw) => setAfter.set(name, [...(setAfter.get(name) ?? []), decode(raw)]));
  let changedOthers = false;
  for (;;) {
    const was = nextBefore();
    const is = nextAfter();
    if (was === null || is === null) {
      changedOthers = was !== is;
      break;
    }
    const [wasRaw = "", isRaw = ""] = [was[5], is[5]];
    if (was[3] !== is[3] || (wasRaw !== isRaw && decode(wasRaw) !== decode(isRaw))) {
      changedOthers = true;
      break;
    }
  }
  // The rest of `after`, for the values set there (the message names the wrong ones).
  while (nextAfter() !== null);
  const wrong = Object.entries(values).filter(([name, value]) => {
    const found = setAfter.get(name) ?? [];
    return found.length !== 1 || found[0] !== value;
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

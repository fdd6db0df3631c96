/**
 * A line-level tokenizer for AWS shared credentials files, shared by reading and editing so that
 * both always agree on where a value starts and ends. It keeps offsets into the original text
 * instead of rebuilding lines: an edit replaces a value's span and leaves every other byte alone.
 *
 * The rules follow the two readers that matter: the AWS SDKs (`parseIni` in @smithy) and the
 * AWS CLI (Python's configparser). Where they disagree in a way that changes the value of a key we
 * would touch, the profile analysis refuses instead of guessing.
 */

const BOM = 0xfeff;

interface LineBase {
  /** Offset of the first character of the line (after the BOM for the first line). */
  readonly start: number;
  /** Offset just past the line's content, before its line ending. */
  readonly end: number;
  /** `"\r\n"`, `"\n"`, or `""` for a last line without a newline. */
  readonly eol: string;
  /** Number of leading whitespace characters; configparser uses it to spot continuation lines. */
  readonly indent: number;
}

export interface BlankLine extends LineBase {
  readonly kind: "blank";
}

export interface CommentLine extends LineBase {
  readonly kind: "comment";
}

export interface SectionLine extends LineBase {
  readonly kind: "section";
  /** The name between the brackets, trimmed (`[ ci ]` names `ci`, as the SDKs read it). */
  readonly name: string;
}

export interface KeyLine extends LineBase {
  readonly kind: "key";
  /** The key name as written (original case), trimmed. */
  readonly key: string;
  /** Offset where the value starts (after `=` and any whitespace). */
  readonly valueStart: number;
  /** Offset just past the value (before trailing whitespace and any inline comment). */
  readonly valueEnd: number;
  /** Offset where an inline comment's leading whitespace starts, if the line has one. */
  readonly commentStart: number | undefined;
}

/** Anything else: continuation lines of multi-line values, or junk the SDKs skip. */
export interface OtherLine extends LineBase {
  readonly kind: "other";
}

export type IniLine = BlankLine | CommentLine | SectionLine | KeyLine | OtherLine;

export interface TokenizedIni {
  readonly text: string;
  /** 1 when the text starts with a UTF-8 byte order mark, else 0. */
  readonly bomLength: number;
  /** How many lines the text has (a last line without a newline counts). */
  readonly lineCount: number;
  /** Line `index` (from 0), classified on first use. */
  line(index: number): IniLine;
  /** Every section header, in file order, with its line index (found on first use). */
  readonly sections: readonly { readonly index: number; readonly line: SectionLine }[];
  /**
   * The section headers named `name`, in file order: the same as filtering {@link sections}, found
   * by searching the text for the name instead of classifying every header.
   */
  sectionsNamed(name: string): readonly { readonly index: number; readonly line: SectionLine }[];
  /** The index of the line holding the character at `offset`. */
  lineIndexAt(offset: number): number;
  /** The line ending to use for new lines: the file's first one, `"\n"` when it has none. */
  readonly eol: string;
}

// The SDKs cut a line at the first `#` or `;` that starts the line or follows whitespace.
const INLINE_COMMENT = /\s[#;]/;
const SPACE = /\s/;

/**
 * Splits `text` into lines, keeping offsets into `text`. Lines are classified only when asked for,
 * and section headers only when every one is asked for: reading one profile of a file with 20,000
 * finds its header by searching the text for its name. A store reads one profile of files with
 * 100,000 lines; an object per line, or per header, was most of its time (and its garbage).
 */
export function tokenize(text: string): TokenizedIni {
  // Every profile's store over one file reads the same text (a fleet reads each of them, a rotation
  // reads, then writes): the last tokenization is kept, so that they share one.
  if (last?.text !== text) last = tokenizeAnew(text);
  return last;
}

/**
 * `text` split into lines, sharing nothing with an earlier tokenization (see {@link tokenize}).
 *
 * @example
 * ```ts
 * tokenizeAnew("[ci]\nregion = x\n").lineCount; // 2
 * ```
 */
export function tokenizeAnew(text: string): TokenizedIni {
  tokenizations++;
  return fromStarts(text, ...lineStarts(text));
}

/**
 * Records `text`, which is `ini`'s text with `edits` made, as tokenized (see {@link tokenize}), its
 * lines found from `ini`'s instead of by splitting the whole text again: only the lines the edits
 * touch are looked at, and the offsets after them shift. A rotation's write edits the text every
 * later read of the file gets, so a fleet over one file splits it once, not once per profile.
 *
 * @returns `text` tokenized, as {@link tokenize} would tokenize it.
 *
 * @example
 * ```ts
 * const before = tokenize("[ci]\nregion = x\n");
 * const edits = [{ start: 14, end: 15, insert: "y\n[cd]" }];
 * tokenizeEdited(before, edits, "[ci]\nregion = y\n[cd]\n").lineCount; // 3
 * ```
 */
export function tokenizeEdited(ini: TokenizedIni, edits: readonly Edit[], text: string): TokenizedIni {
  const lines = linesOf.get(ini);
  if (edits.length === 0 && text === ini.text) return ini;
  const from = Math.min(...edits.map((edit) => edit.start));
  // An edit of the byte order mark changes what every offset counts from: split the text again.
  if (!lines || lines.count === 0 || edits.length === 0 || from < ini.bomLength) return tokenize(text);
  const to = Math.max(...edits.map((edit) => edit.end));
  const delta = edits.reduce((sum, edit) => sum + edit.insert.length - (edit.end - edit.start), 0);
  const { starts, count } = lines;
  // The line holding the first edit starts where it did; the lines after the last edit's end start
  // `delta` later; the line starts in between are the newlines found in the edited span.
  const first = lineIndexIn(starts, count, from);
  let after = first + 1;
  while (after < count && (starts[after] as number) <= to) after++;
  const between: number[] = [];
  for (let at = text.indexOf("\n", starts[first] as number); at !== -1 && at < to + delta; at = text.indexOf("\n", at + 1)) {
    if (at + 1 < text.length) between.push(at + 1);
  }
  // The first edit's line is gone when the edits removed everything from its start to the end.
  const kept = (starts[first] as number) < text.length ? first + 1 : first;
  const next = new Int32Array(kept + between.length + (count - after));
  next.set(starts.subarray(0, kept));
  next.set(between, kept);
  for (let index = after; index < count; index++) next[kept + between.length + index - after] = (starts[index] as number) + delta;
  // The lines before the first edit's are unchanged, and so are their classifications.
  const classified = new Map<number, IniLine>();
  for (const [index, line] of lines.cache) if (index < first) classified.set(index, line);
  last = fromStarts(text, ini.bomLength, next, next.length, classified);
  return last;
}

/** One replacement in a text, with offsets into the text before it (as `spliceText` takes them). */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly insert: string;
}

/**
 * How many texts have been split into lines whole in this process (not those derived by
 * {@link tokenizeEdited}): what the tests count a fleet's splits with.
 *
 * @example
 * ```ts
 * const before = tokenizationCount();
 * tokenize("[a]\n");
 * tokenizationCount() - before; // 1, or 0 if that text was the last one tokenized
 * ```
 */
export function tokenizationCount(): number {
  return tokenizations;
}

let last: TokenizedIni | undefined;
let tokenizations = 0;
const linesOf = new WeakMap<TokenizedIni, { readonly starts: Int32Array; readonly count: number; readonly cache: Map<number, IniLine> }>();

/** The BOM's length and where each line of `text` starts. */
function lineStarts(text: string): [bomLength: number, starts: Int32Array, count: number] {
  const bomLength = text.charCodeAt(0) === BOM ? 1 : 0;
  // The offsets go into a typed array, grown by doubling: 100,000 lines make no garbage per line.
  let starts = new Int32Array(1024);
  let count = 0;
  for (let pos = bomLength; pos < text.length; count++) {
    if (count === starts.length) {
      const grown = new Int32Array(starts.length * 2);
      grown.set(starts);
      starts = grown;
    }
    starts[count] = pos;
    const newline = text.indexOf("\n", pos);
    pos = newline === -1 ? text.length : newline + 1;
  }
  return [bomLength, starts, count];
}

/** The index of the last line starting at or before `offset`. */
function lineIndexIn(starts: Int32Array, count: number, offset: number): number {
  let low = 0;
  let high = count - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((starts[middle] as number) <= offset) low = middle;
    else high = middle - 1;
  }
  return low;
}

function fromStarts(text: string, bomLength: number, starts: Int32Array, count: number, cache = new Map<number, IniLine>()): TokenizedIni {
  const startOf = (index: number): number => starts[index] as number;
  const nextOf = (index: number): number => (index + 1 < count ? startOf(index + 1) : text.length);

  const line = (index: number): IniLine => {
    if (index < 0 || index >= count) throw new RangeError(`no line ${index}`);
    let found = cache.get(index);
    if (!found) {
      found = lineAt(text, startOf(index), nextOf(index));
      cache.set(index, found);
    }
    return found;
  };
  // A header's first non-blank character is `[`: the others are passed over at the cost of one test.
  const header = (index: number): SectionLine | undefined => {
    if (text.charCodeAt(firstNonSpace(text, startOf(index), nextOf(index))) !== 0x5b /* [ */) return undefined;
    const found = line(index);
    return found.kind === "section" ? found : undefined;
  };
  const lineIndexAt = (offset: number): number => lineIndexIn(starts, count, offset);
  let sections: { index: number; line: SectionLine }[] | undefined;
  const allSections = (): { index: number; line: SectionLine }[] => {
    if (!sections) {
      sections = [];
      for (let index = 0; index < count; index++) {
        const found = header(index);
        if (found) sections.push({ index, line: found });
      }
    }
    return sections;
  };
  const sectionsNamed = (name: string): { index: number; line: SectionLine }[] => {
    if (sections || name === "") return allSections().filter((section) => section.line.name === name);
    // A header named `name` holds `name` on its line: only lines holding it are classified.
    const found: { index: number; line: SectionLine }[] = [];
    for (let at = text.indexOf(name, bomLength); at !== -1; ) {
      const index = lineIndexAt(at);
      const candidate = header(index);
      if (candidate?.name === name) found.push({ index, line: candidate });
      at = text.indexOf(name, nextOf(index));
    }
    return found;
  };
  // The file's first line ending is the first line's, unless that line is the only one and has none.
  const firstEol = count === 0 ? "" : line(0).eol;
  const ini: TokenizedIni = {
    text,
    bomLength,
    lineCount: count,
    line,
    get sections() {
      return allSections();
    },
    sectionsNamed,
    lineIndexAt,
    eol: firstEol || "\n",
  };
  linesOf.set(ini, { starts, count, cache });
  return ini;
}

/** Offset of the first character from `from` (before `to`) that is not whitespace, or `to`. */
function firstNonSpace(text: string, from: number, to: number): number {
  let at = from;
  for (; at < to; at++) {
    const code = text.charCodeAt(at);
    if (code === 0x20 || (code >= 0x09 && code <= 0x0d)) continue;
    if (code < 0x80 || !SPACE.test(text[at] as string)) break;
  }
  return at;
}

/** The line from `start` up to `next`, where the next line starts (or the text ends). */
function lineAt(text: string, start: number, next: number): IniLine {
  const hasNewline = next > start && text.charCodeAt(next - 1) === 0x0a;
  const newline = hasNewline ? next - 1 : next;
  const end = hasNewline && newline > start && text[newline - 1] === "\r" ? newline - 1 : newline;
  return classify(text, start, end, text.slice(end, next));
}

function classify(text: string, start: number, end: number, eol: string): IniLine {
  const content = text.slice(start, end);
  const indent = (/^\s*/.exec(content)?.[0] ?? "").length;
  const base = { start, end, eol, indent };
  if (indent === content.length) return { ...base, kind: "blank" };
  const first = content[indent];
  if (first === "#" || first === ";") return { ...base, kind: "comment" };

  const comment = INLINE_COMMENT.exec(content);
  const meaningful = comment ? content.slice(0, comment.index) : content;
  const trimmed = meaningful.trim();
  if (trimmed.startsWith("[") && trimmed.endsWith("]") && trimmed.length >= 2) {
    return { ...base, kind: "section", name: trimmed.slice(1, -1).trim() };
  }

  const eq = meaningful.indexOf("=");
  const key = eq === -1 ? "" : meaningful.slice(0, eq).trim();
  if (key === "") return { ...base, kind: "other" };

  const valueEnd = meaningful.trimEnd().length;
  let valueStart = eq + 1;
  while (valueStart < valueEnd && /\s/.test(content[valueStart] ?? "")) valueStart++;
  return {
    ...base,
    kind: "key",
    key,
    valueStart: start + valueStart,
    valueEnd: start + Math.max(valueStart, valueEnd),
    commentStart: comment ? start + comment.index : undefined,
  };
}

/** The value of a key line, exactly as the readers see it. */
export function keyValue(text: string, line: KeyLine): string {
  return text.slice(line.valueStart, line.valueEnd);
}

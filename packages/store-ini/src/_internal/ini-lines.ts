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
  readonly lines: readonly IniLine[];
  /** The line ending to use for new lines: the file's first one, `"\n"` when it has none. */
  readonly eol: string;
}

// The SDKs cut a line at the first `#` or `;` that starts the line or follows whitespace.
const INLINE_COMMENT = /\s[#;]/;

/**
 * Splits `text` into classified lines, keeping offsets into `text`.
 */
export function tokenize(text: string): TokenizedIni {
  const bomLength = text.charCodeAt(0) === BOM ? 1 : 0;
  const lines: IniLine[] = [];
  let firstEol: string | undefined;
  let pos = bomLength;
  while (pos < text.length) {
    const newline = text.indexOf("\n", pos);
    const next = newline === -1 ? text.length : newline + 1;
    const end = newline === -1 ? text.length : newline > pos && text[newline - 1] === "\r" ? newline - 1 : newline;
    const eol = text.slice(end, next);
    if (firstEol === undefined && eol !== "") firstEol = eol;
    lines.push(classify(text, pos, end, eol));
    pos = next;
  }
  return { text, bomLength, lines, eol: firstEol ?? "\n" };
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

import { type AccessKeyPair, createStoreError } from "@keyup/core";
import { spliceText } from "@keyup/core/files";
import { type Edit, type IniLine, type KeyLine, type TokenizedIni, tokenizeEdited } from "./ini-lines.js";
import { ACCESS_KEY_ID, heldKey, type ProfileEntry, type ProfileView, quote, SECRET_ACCESS_KEY } from "./profile.js";

/** The key of a viewed profile, turning "missing" into an ENOTFOUND that lists the profiles present. */
export function keyIn(view: ProfileView, profile: string, where: string): AccessKeyPair | undefined {
  if (view.kind === "missing") {
    const present = view.profiles.length === 0 ? "it has no profiles" : `profiles present: ${view.profiles.join(", ")}`;
    throw createStoreError("ENOTFOUND", `profile ${quote(profile)} not found${where} (${present})`);
  }
  return heldKey(view, profile, where);
}

/**
 * Refuses profile names that could not round-trip through a section header: a newline or bracket
 * would inject or break lines, and outer whitespace is trimmed by every reader.
 */
export function checkProfileName(profile: string): void {
  if (typeof profile !== "string" || profile === "" || profile !== profile.trim() || /[[\]\r\n]/.test(profile)) {
    throw createStoreError(
      "EINVALID",
      `invalid profile name ${typeof profile === "string" ? quote(profile) : typeof profile}: it must be non-empty, without outer whitespace, brackets or line breaks`,
    );
  }
}

/** Sets both values in a viewed profile (see `editProfile`). */
export function setValues(view: ProfileView, profile: string, key: AccessKeyPair): string {
  const { ini } = view;
  const { text } = ini;
  const wanted: ReadonlyArray<readonly [string, string]> = [
    [ACCESS_KEY_ID, key.accessKeyId],
    [SECRET_ACCESS_KEY, key.secretAccessKey],
  ];

  if (view.kind === "missing") {
    const section = [`[${profile}]`, ...wanted.map(([name, value]) => `${name} = ${value}`)];
    return edit(ini, [appendSection(ini, section)]);
  }

  const edits: Edit[] = [];
  const missing: string[] = [];
  const last = view.entries.at(-1);
  for (const [name, value] of wanted) {
    const entry = view.entries.find((candidate) => candidate.name === name);
    if (entry) {
      const replacement = replaceValue(text, entry.line, value);
      if (replacement) edits.push(replacement);
    } else {
      missing.push(newKeyLine(text, last, name, value));
    }
  }
  // Missing keys go after the profile's last key line (or its header): after every replaced value,
  // including one that starts right at that line's end (`aws_access_key_id=` with nothing after it).
  if (missing.length > 0) edits.push(insertAfterLine(ini.line(last ? last.lastLineIndex : view.headerIndex), ini.eol, missing));
  return edit(ini, edits);
}

/**
 * The text with `edits` made, in one splice of the original (slicing an edited text again would copy
 * the whole file, 3 MiB for 20,000 profiles, once per edit), and its tokenization derived from the
 * original's for the reads of the file that follow.
 */
function edit(ini: TokenizedIni, edits: readonly Edit[]): string {
  const result = spliceText(ini.text, edits);
  tokenizeEdited(ini, edits, result);
  return result;
}

/** Removes the two key lines of a present profile (used to restore a profile that held no key). */
export function removeKeyLines(view: ProfileView & { kind: "present" }, removeEmptySection: boolean): string {
  const { ini } = view;
  const drop = new Set<number>();
  for (const entry of view.entries) {
    if (entry.name !== ACCESS_KEY_ID && entry.name !== SECRET_ACCESS_KEY) continue;
    for (let index = entry.lineIndex; index <= entry.lastLineIndex; index++) drop.add(index);
  }
  if (removeEmptySection) {
    let end = view.headerIndex + 1;
    while (end < ini.lineCount && ini.line(end).kind !== "section") end++;
    const body = Array.from({ length: end - view.headerIndex - 1 }, (_, offset) => ini.line(view.headerIndex + 1 + offset));
    if (body.every((line, offset) => line.kind === "blank" || drop.has(view.headerIndex + 1 + offset))) {
      for (let index = view.headerIndex; index < end; index++) drop.add(index);
      // A section at the end was appended after a blank separator line: that goes too.
      for (let index = view.headerIndex - 1; end === ini.lineCount && index >= 0 && ini.line(index).kind === "blank"; index--) {
        drop.add(index);
      }
    }
  }
  if (drop.size === 0) return ini.text;
  const lines = Array.from({ length: ini.lineCount }, (_, index) => ini.line(index));
  const kept = lines.filter((_, index) => !drop.has(index));
  const hadFinalNewline = (lines.at(-1)?.eol ?? "\n") !== "";
  let result = ini.text.slice(0, ini.bomLength);
  kept.forEach((line, index) => {
    const isLast = index === kept.length - 1;
    result += ini.text.slice(line.start, line.end) + (isLast && !hadFinalNewline ? "" : line.eol || ini.eol);
  });
  return result;
}

function replaceValue(text: string, line: KeyLine, value: string): Edit | undefined {
  if (text.slice(line.valueStart, line.valueEnd) === value) return undefined;
  if (line.valueStart !== line.valueEnd) return { start: line.valueStart, end: line.valueEnd, insert: value };
  // An empty value: put the new one after `=` with a space, keeping any inline comment after it.
  const at = line.commentStart ?? line.valueStart;
  const before = text[at - 1] ?? "";
  return { start: at, end: at, insert: /\s/.test(before) ? value : ` ${value}` };
}

// New key lines copy the indentation and `=` spacing of the profile's last key line, so they read
// like their neighbours and the AWS CLI does not take them for continuation lines.
function newKeyLine(text: string, last: ProfileEntry | undefined, name: string, value: string): string {
  if (!last || last.value === "") return `${name} = ${value}`;
  const lineText = text.slice(last.line.start, last.line.valueStart);
  const indent = lineText.slice(0, last.line.indent);
  const eq = lineText.indexOf("=");
  const separator = `${/\s*$/.exec(lineText.slice(0, eq))?.[0] ?? ""}=${lineText.slice(eq + 1)}`;
  return `${indent}${name}${separator}${value}`;
}

function insertAfterLine(line: IniLine, eol: string, newLines: readonly string[]): Edit {
  const block = newLines.join(eol);
  if (line.eol === "") return { start: line.end, end: line.end, insert: `${eol}${block}` };
  const at = line.end + line.eol.length;
  return { start: at, end: at, insert: `${block}${eol}` };
}

function appendSection(ini: TokenizedIni, section: readonly string[]): Edit {
  const { text, eol } = ini;
  const body = section.map((line) => `${line}${eol}`).join("");
  const lastLine = ini.lineCount === 0 ? undefined : ini.line(ini.lineCount - 1);
  // Keep sections apart with one blank line, as the AWS CLI writes them.
  const separator = !lastLine ? "" : lastLine.eol === "" ? eol + eol : lastLine.kind === "blank" ? "" : eol;
  return { start: text.length, end: text.length, insert: separator + body };
}

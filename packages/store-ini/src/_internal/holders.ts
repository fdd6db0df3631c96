import { type TokenizedIni, tokenize } from "./ini-lines.js";
import { ACCESS_KEY_ID } from "./profile.js";

/**
 * The profiles other than `profile` with an `aws_access_key_id` line whose value is `accessKeyId`,
 * in file order, each once. Every line counts, duplicates and ambiguous profiles included: a profile
 * keyup refuses to read still hands the key to whoever reads the file.
 *
 * @example
 * ```ts
 * profilesHolding("[a]\naws_access_key_id = AKIA1\n[b]\naws_access_key_id = AKIA1\n", "a", "AKIA1"); // ["b"]
 * ```
 */
export function profilesHolding(text: string, profile: string, accessKeyId: string): string[] {
  const found = new Set<string>();
  const ini = tokenize(text);
  if (accessKeyId !== "") {
    // Only lines holding the id can hold it as a value: each is looked at, then its section found
    // by walking back, instead of classifying the 100,000 lines of a 20,000-profile file.
    for (let at = text.indexOf(accessKeyId, ini.bomLength); at !== -1; ) {
      const index = ini.lineIndexAt(at);
      const line = ini.line(index);
      if (line.kind === "key" && line.key.toLowerCase() === ACCESS_KEY_ID && text.slice(line.valueStart, line.valueEnd) === accessKeyId) {
        const section = sectionAbove(ini, index);
        if (section !== undefined && section !== profile) found.add(section);
      }
      at = index + 1 < ini.lineCount ? text.indexOf(accessKeyId, ini.line(index + 1).start) : -1;
    }
    return [...found];
  }
  let section: string | undefined;
  for (let index = 0; index < ini.lineCount; index++) {
    const line = ini.line(index);
    if (line.kind === "section") section = line.name;
    else if (line.kind === "key" && section !== undefined && section !== profile && line.key.toLowerCase() === ACCESS_KEY_ID) {
      if (text.slice(line.valueStart, line.valueEnd) === accessKeyId) found.add(section);
    }
  }
  return [...found];
}

/** The name of the last section header above line `index`, if any. */
function sectionAbove(ini: TokenizedIni, index: number): string | undefined {
  for (let above = index - 1; above >= 0; above--) {
    const line = ini.line(above);
    if (line.kind === "section") return line.name;
  }
  return undefined;
}

import { tokenize } from "./ini-lines.js";
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
  let section: string | undefined;
  const ini = tokenize(text);
  for (let index = 0; index < ini.lineCount; index++) {
    const line = ini.line(index);
    if (line.kind === "section") section = line.name;
    else if (line.kind === "key" && section !== undefined && section !== profile && line.key.toLowerCase() === ACCESS_KEY_ID) {
      if (text.slice(line.valueStart, line.valueEnd) === accessKeyId) found.add(section);
    }
  }
  return [...found];
}

import { tokenize } from "./_internal/ini-lines.js";

/**
 * The profile names of a shared credentials file's text, in the order they first appear, each once.
 * Read with the same tokenizer the store reads and edits with, so a name listed here is a name
 * `iniStore({ profile })` finds (`[ ci ]` lists as `ci`, a BOM and CRLF line endings are understood).
 * Pure: it does no I/O and never returns a value from inside a section.
 *
 * @param text - The whole file's text.
 * @returns The section names; `[]` for an empty file.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { listProfiles } from "@keyup/store-ini";
 *
 * const names = listProfiles(await readFile(`${process.env.HOME}/.aws/credentials`, "utf8"));
 * // ["default", "ci", "deploy"]
 * ```
 */
export function listProfiles(text: string): string[] {
  const names = new Set<string>();
  for (const line of tokenize(text).lines) if (line.kind === "section") names.add(line.name);
  return [...names];
}

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

// The oracle is dotenv's own rule, read out of the installed dotenv's source rather than copied, so
// that the scanner and the edit's check are held to what dotenv runs.
const dotenvSource = readFileSync(createRequire(import.meta.url).resolve("dotenv"), "utf8");
const literal = /^const LINE = \/(.+)\/(\w+)$/m.exec(dotenvSource);
if (!literal) throw new Error("dotenv's LINE rule was not found in dotenv's main module");

/** dotenv's `LINE` regular expression, as the installed dotenv has it. */
export const DOTENV_LINE = new RegExp(literal[1] as string, literal[2]);

/** dotenv's own rule on `text` as is: index, name, value capture and lastIndex of each match. */
export function dotenvMatches(text: string): [index: number, name: string, value: string | undefined, lastIndex: number][] {
  const rule = new RegExp(DOTENV_LINE.source, DOTENV_LINE.flags);
  const out: [number, string, string | undefined, number][] = [];
  for (let m = rule.exec(text); m !== null; m = rule.exec(text)) out.push([m.index, m[1] as string, m[2], rule.lastIndex]);
  return out;
}

/**
 * What `dotenv.parse` reads, as a list (dotenv's object keeps only the last of a name): its line
 * endings turned into `\n`, its rule, and its decoding of each value, step for step from lib/main.js.
 */
export function dotenvAssignments(text: string): [name: string, value: string][] {
  return dotenvMatches(text.replace(/\r\n?/gm, "\n")).map(([, name, raw]) => {
    let value = (raw || "").trim();
    const maybeQuote = value[0];
    value = value.replace(/^(['"`])([\s\S]*)\1$/gm, "$2");
    if (maybeQuote === '"') value = value.replace(/\\n/g, "\n").replace(/\\r/g, "\r");
    return [name, value];
  });
}

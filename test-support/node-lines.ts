import { execFileSync } from "node:child_process";
import { delimiter, dirname } from "node:path";
import { fileURLToPath } from "node:url";

/** The Node.js lines keyup supports and tests; `engines` in every package.json says the same. */
export const NODE_LINES = ["20", "22", "24"] as const;

/** One of the supported Node.js lines. */
export type NodeLine = (typeof NODE_LINES)[number];

const NODE_LINE_SH = fileURLToPath(new URL("../scripts/node-line.sh", import.meta.url));

/**
 * The `node` binary of a supported line: the machine's own when it is that line, else the one
 * scripts/setup.sh cached from the npm registry. Throws, naming the fix, when setup has not run.
 *
 * @example
 * ```ts
 * execFileSync(nodeOf("24"), ["--version"]); // "v24.…"
 * ```
 */
export function nodeOf(line: NodeLine): string {
  return execFileSync("bash", [NODE_LINE_SH, line], { encoding: "utf8" }).trim();
}

/**
 * An environment whose `node` is the given line's: its folder first on PATH, so `#!/usr/bin/env node`
 * scripts such as an installed `keyup` bin run on it.
 *
 * @example
 * ```ts
 * spawn("keyup", ["--version"], { env: { ...process.env, PATH: pathWithNode(nodeOf("22")) } });
 * ```
 */
export function pathWithNode(node: string, path = process.env.PATH ?? ""): string {
  return `${dirname(node)}${delimiter}${path}`;
}

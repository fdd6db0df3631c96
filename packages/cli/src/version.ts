import pkg from "../package.json" with { type: "json" };

/**
 * The version of the `keyup` command, from its package.json.
 *
 * @example
 * ```ts
 * console.log(VERSION); // "0.1.0"
 * ```
 */
export const VERSION: string = pkg.version;

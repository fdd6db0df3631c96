/**
 * When the old key is retired, relative to a rotation (the handler's `retireOld`, see
 * `RetireOldPolicy` in `@keyup/store-secretsmanager`):
 * - `"next-rotation"` (default): it stays Active under AWSPREVIOUS until the next rotation retires it,
 *   after checking on AWS's clock that nothing used it since (alternating keys);
 * - `"at-finish"`: finishSecret deactivates and deletes it right after moving AWSCURRENT;
 * - `"deactivate-at-finish"`: finishSecret only deactivates it, the next rotation deletes it.
 *
 * @example
 * ```ts
 * const retireOld: RetireOld = "next-rotation";
 * ```
 */
export type RetireOld = "next-rotation" | "at-finish" | "deactivate-at-finish";

/**
 * The `retireOld` values, in the order the docs list them.
 *
 * @example
 * ```ts
 * if (!RETIRE_OLD_VALUES.includes(value)) throw new Error(`unknown retireOld ${value}`);
 * ```
 */
export const RETIRE_OLD_VALUES: readonly RetireOld[] = ["next-rotation", "at-finish", "deactivate-at-finish"];

/** The environment variable the construct sets and the bundled handler reads. */
export const RETIRE_OLD_ENV = "KEYUP_RETIRE_OLD";

/**
 * Checks a `retireOld` value: returns it when it is one of {@link RETIRE_OLD_VALUES}, else throws an
 * `Error` naming them.
 *
 * @example
 * ```ts
 * checkRetireOld(process.env.KEYUP_RETIRE_OLD ?? "next-rotation"); // "next-rotation"
 * ```
 */
export function checkRetireOld(value: string): RetireOld {
  if ((RETIRE_OLD_VALUES as readonly string[]).includes(value)) return value as RetireOld;
  throw new Error(`retireOld must be "next-rotation", "at-finish" or "deactivate-at-finish", got ${JSON.stringify(value)}`);
}

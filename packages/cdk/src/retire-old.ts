/**
 * When the old key is retired, relative to a rotation:
 * - `"at-finish"`: finishSecret deactivates and deletes it right after moving AWSCURRENT (what the
 *   handler does today);
 * - `"deactivate-at-finish"`: finishSecret only deactivates it, the next rotation deletes it;
 * - `"next-rotation"`: it stays Active until the next rotation retires it (alternating keys).
 *
 * @example
 * ```ts
 * const retireOld: RetireOld = "at-finish";
 * ```
 */
export type RetireOld = "next-rotation" | "at-finish" | "deactivate-at-finish";

/**
 * The `retireOld` values the bundled rotation handler implements. The others are part of the
 * construct's interface so that code written for them compiles, but they are refused until the
 * handler implements them, rather than silently behaving like `"at-finish"`.
 *
 * @example
 * ```ts
 * if (!SUPPORTED_RETIRE_OLD.includes(value)) throw new Error(`${value} is not supported yet`);
 * ```
 */
export const SUPPORTED_RETIRE_OLD: readonly RetireOld[] = ["at-finish"];

/** The environment variable the construct sets and the bundled handler reads. */
export const RETIRE_OLD_ENV = "KEYUP_RETIRE_OLD";

/**
 * Checks a `retireOld` value: returns it when the handler implements it, else throws an `Error` that
 * says what is and is not supported.
 *
 * @example
 * ```ts
 * checkRetireOld(process.env.KEYUP_RETIRE_OLD ?? "at-finish"); // "at-finish"
 * ```
 */
export function checkRetireOld(value: string): RetireOld {
  if ((SUPPORTED_RETIRE_OLD as readonly string[]).includes(value)) return value as RetireOld;
  const known = ["next-rotation", "at-finish", "deactivate-at-finish"].includes(value);
  throw new Error(
    known
      ? `retireOld "${value}" is not implemented by keyup's rotation handler yet: it supports only ${SUPPORTED_RETIRE_OLD.map((v) => `"${v}"`).join(", ")} (deactivate and delete the old key in finishSecret)`
      : `retireOld must be "next-rotation", "at-finish" or "deactivate-at-finish", got ${JSON.stringify(value)}`,
  );
}

import type { ConfigError } from "../errors.js";

/**
 * The rules for the rotation settings a person chooses, written once for the library (`rotate()`,
 * `plan()`, `rotateMany()`, `openMfaSession()`) and the CLI (`--old-key`, `--keep-old-for`,
 * `--if-older-than`, `--verify-timeout`, `--description`, `--mfa-code`). Each edge parses its own
 * spelling (milliseconds here, `90d` on the command line) and names the option its own way; the rule
 * and its wording are the same.
 */

/**
 * The settings {@link checkRotateSettings} checks, in the library's units (milliseconds).
 *
 * @example
 * ```ts
 * const settings: RotateSettings = { oldKey: "deactivate", keepOldForMs: 7 * 86_400_000 };
 * ```
 */
export interface RotateSettings {
  readonly oldKey?: unknown;
  readonly keepOldForMs?: unknown;
  readonly minAgeMs?: unknown;
  readonly verifyTimeoutMs?: unknown;
  readonly description?: unknown;
}

/**
 * The name of a setting with a rule, as the library spells it.
 *
 * @example
 * ```ts
 * const option: RotateOptionName = "keepOldForMs";
 * ```
 */
export type RotateOptionName = keyof RotateSettings | "mfaCode";

/**
 * A setting that breaks its rule: which one, the rule in words, and the other setting it clashes
 * with, if any. Data, so each edge names the options its own way ({@link describeOptionProblem}).
 *
 * @example
 * ```ts
 * const problem: OptionProblem = { option: "oldKey", rule: "must be delete, deactivate or keep" };
 * ```
 */
export interface OptionProblem {
  readonly option: RotateOptionName;
  readonly rule: string;
  readonly clashesWith?: RotateOptionName;
}

/** How the library names a setting that is not an option of its own. */
const LIBRARY_NAMES: Partial<Record<RotateOptionName, string>> = { mfaCode: "the code from mfa.tokenCode()" };

/** The longest verification anyone should wait for: AWS documents propagation in seconds, not hours. */
const MAX_VERIFY_TIMEOUT_MS = 3_600_000;

/**
 * Checks the rotation settings a person chooses; the first setting that breaks its rule, or
 * `undefined` when all keep them. Settings left out are not checked (their defaults are valid).
 *
 * @example
 * ```ts
 * const problem = checkRotateSettings({ oldKey: "delete", keepOldForMs: 86_400_000 });
 * if (problem) console.error(describeOptionProblem(problem)); // "keepOldForMs keeps the old key deactivated: it cannot be combined with oldKey delete"
 * ```
 */
export function checkRotateSettings(settings: RotateSettings): OptionProblem | undefined {
  const { oldKey, keepOldForMs, minAgeMs, verifyTimeoutMs, description } = settings;
  if (oldKey !== undefined && oldKey !== "delete" && oldKey !== "deactivate" && oldKey !== "keep") {
    return { option: "oldKey", rule: "must be delete, deactivate or keep" };
  }
  if (minAgeMs !== undefined && !(typeof minAgeMs === "number" && Number.isFinite(minAgeMs) && minAgeMs >= 0)) {
    return { option: "minAgeMs", rule: "must be an age of zero or more" };
  }
  if (keepOldForMs !== undefined && !(typeof keepOldForMs === "number" && Number.isFinite(keepOldForMs) && keepOldForMs > 0)) {
    return { option: "keepOldForMs", rule: "must be a positive length of time" };
  }
  if (keepOldForMs !== undefined && oldKey !== undefined && oldKey !== "deactivate") {
    return { option: "keepOldForMs", rule: `keeps the old key deactivated: it cannot be combined with`, clashesWith: "oldKey" };
  }
  if (
    verifyTimeoutMs !== undefined &&
    !(typeof verifyTimeoutMs === "number" && Number.isFinite(verifyTimeoutMs) && verifyTimeoutMs > 0 && verifyTimeoutMs <= MAX_VERIFY_TIMEOUT_MS)
  ) {
    return { option: "verifyTimeoutMs", rule: "must be a positive length of time of at most an hour" };
  }
  if (
    description !== undefined &&
    !(typeof description === "string" && description.length > 0 && description.length <= 256 && /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u.test(description))
  ) {
    return { option: "description", rule: "must be 1–256 characters of letters, digits, spaces and _ . : / = + - @ (IAM's rule for tag values)" };
  }
  return undefined;
}

/**
 * Checks a one-time MFA code: the 6 digits the device shows. A code is not a secret (it expires in
 * seconds), but anything else in its place may be one, so the value is never echoed.
 *
 * @example
 * ```ts
 * checkMfaCode("123456"); // undefined
 * checkMfaCode("12ab"); // { option: "mfaCode", rule: "must be the 6 digits your MFA device shows" }
 * ```
 */
export function checkMfaCode(code: string): OptionProblem | undefined {
  return /^\d{6}$/.test(code) ? undefined : { option: "mfaCode", rule: "must be the 6 digits your MFA device shows" };
}

/**
 * The sentence for an {@link OptionProblem}, naming the options as `names` spells them (the library's
 * own names by default; the CLI passes its flags) and ending with the value given, when `value` is set.
 *
 * @example
 * ```ts
 * describeOptionProblem({ option: "oldKey", rule: "must be delete, deactivate or keep" }, { names: { oldKey: "--old-key" }, value: '"purge"' });
 * // '--old-key must be delete, deactivate or keep, got "purge"'
 * ```
 */
export function describeOptionProblem(
  problem: OptionProblem,
  how: { readonly names?: Partial<Record<RotateOptionName, string>>; readonly value?: string; readonly clashValue?: string } = {},
): string {
  const name = (option: RotateOptionName) => how.names?.[option] ?? LIBRARY_NAMES[option] ?? option;
  if (problem.clashesWith !== undefined) {
    return `${name(problem.option)} ${problem.rule} ${name(problem.clashesWith)}${how.clashValue !== undefined ? ` ${how.clashValue}` : ""}`;
  }
  return `${name(problem.option)} ${problem.rule}${how.value !== undefined ? `, got ${how.value}` : ""}`;
}

/**
 * The library's `config` error for a problem found in `settings`, naming options as the library
 * spells them and showing the value given.
 *
 * @example
 * ```ts
 * const problem = checkRotateSettings(options);
 * if (problem) return err(rotateOptionError(problem, options));
 * ```
 */
export function rotateOptionError(problem: OptionProblem, settings: RotateSettings): ConfigError {
  const shown = (option: RotateOptionName | undefined) => {
    if (option === undefined || option === "mfaCode") return undefined;
    const value = settings[option];
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  };
  return {
    kind: "config",
    message: describeOptionProblem(problem, {
      ...(problem.option !== "description" ? { value: shown(problem.option) } : {}),
      ...(problem.clashesWith !== undefined ? { clashValue: shown(problem.clashesWith) } : {}),
    }),
  };
}

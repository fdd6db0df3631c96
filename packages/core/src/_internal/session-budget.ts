import type { RotationConfig } from "../machine/types.js";

// An MFA session (STS GetSessionToken) signs every IAM call of a rotation and cannot be renewed without
// a new code. It must outlive the rotation, rollback included: a session that expires half-way leaves
// the new key behind. AWS allows 900 to 129 600 s for an IAM user's session (STS API reference,
// GetSessionToken, DurationSeconds).

const MIN_SECONDS = 900;
const MAX_SECONDS = 129_600;
/** Slack for the calls themselves and the machine's clock being a little off. */
const MARGIN_MS = 60_000;
/** What comes before CreateAccessKey (listing keys, a backup, a prompt answered late). */
const BEFORE_CREATE_MS = 300_000;

/**
 * How long a rotation may still run once it creates its key: verify, then either the two retire steps
 * or the rollback, each retrying for up to the verify timeout, plus a margin.
 *
 * @example
 * ```ts
 * rotationBudgetMs({ ...defaultRotationConfig, verifyTimeoutMs: 30_000 }); // 150 000
 * ```
 */
export function rotationBudgetMs(config: Pick<RotationConfig, "verifyTimeoutMs">): number {
  return 3 * config.verifyTimeoutMs + MARGIN_MS;
}

/**
 * The DurationSeconds to ask GetSessionToken for: the whole rotation and what comes before it, within
 * AWS's limits for IAM users.
 *
 * @example
 * ```ts
 * sessionSecondsFor({ verifyTimeoutMs: 30_000 }); // 900 (AWS's minimum)
 * sessionSecondsFor({ verifyTimeoutMs: 600_000 }); // 2160
 * ```
 */
export function sessionSecondsFor(config: Pick<RotationConfig, "verifyTimeoutMs">): number {
  const wanted = Math.ceil((rotationBudgetMs(config) + BEFORE_CREATE_MS) / 1000);
  return Math.min(MAX_SECONDS, Math.max(MIN_SECONDS, wanted));
}

/**
 * Why a session expiring at `expiresAt` is too short to create a key with now, or `undefined`.
 *
 * @example
 * ```ts
 * sessionTooShort(Date.now() + 60_000, Date.now(), defaultRotationConfig); // "the MFA session expires …"
 * ```
 */
export function sessionTooShort(expiresAt: number, now: number, config: Pick<RotationConfig, "verifyTimeoutMs">): string | undefined {
  const left = expiresAt - now;
  const needed = rotationBudgetMs(config);
  if (left >= needed) return undefined;
  return `the MFA session expires at ${new Date(expiresAt).toISOString()}, in ${Math.max(0, Math.round(left / 1000))} s, and the rotation may need ${Math.round(needed / 1000)} s after CreateAccessKey (verify and rollback): nothing was created; run again with a fresh MFA code`;
}

import type { Failure, RotationConfig } from "./types.js";

/**
 * The delay before retry number `attempt` (1-based): exponential from `initialBackoffMs`, capped at
 * `maxBackoffMs`, with "equal jitter" (half fixed, half random) so concurrent rotations spread out
 * while the wait never collapses to zero.
 *
 * @example
 * ```ts
 * backoffDelay(defaultRotationConfig, 1, 0.5); // 150
 * ```
 */
export function backoffDelay(config: RotationConfig, attempt: number, random: number): number {
  const exp = Math.min(config.maxBackoffMs, config.initialBackoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}

/** AWS error names for "too many requests": the request was refused before it did anything. */
const THROTTLING = new Set(["Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"]);

/**
 * True when AWS refused the call for its rate (IAM and STS throttle with a token bucket per account):
 * the call did nothing, so even a non-idempotent one like CreateAccessKey may simply be sent again.
 *
 * @example
 * ```ts
 * isThrottled({ source: "aws", code: "Throttling", message: "Rate exceeded", retry: "service" }); // true
 * ```
 */
export function isThrottled(failure: Failure): boolean {
  return failure.source === "aws" && THROTTLING.has(failure.code);
}

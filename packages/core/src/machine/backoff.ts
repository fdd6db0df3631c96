import type { RotationConfig } from "./types.js";

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

import type { RateLimit } from "./profiles.js";

/**
 * A token bucket, the way IAM and STS throttle each account (AWS Support, quoted in
 * hashicorp/terraform-provider-aws#44853): `burst` tokens, refilled at `perSecond`; a request without a
 * token is refused. `take(now)` answers whether this request may pass.
 *
 * @example
 * ```ts
 * const bucket = tokenBucket({ burst: 20, perSecond: 10 });
 * if (!bucket.take(clock.modelNow())) return throttled();
 * ```
 */
export function tokenBucket(limit: RateLimit) {
  let tokens = limit.burst;
  let last: number | undefined;
  return {
    take(now: number): boolean {
      if (last !== undefined) tokens = Math.min(limit.burst, tokens + ((now - last) / 1000) * limit.perSecond);
      last = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

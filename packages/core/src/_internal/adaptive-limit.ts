/**
 * How many rotations a fleet runs at once, adjusted to what IAM answers: halved when a sustained share
 * of recent requests was throttled, then raised by one per finished rotation back up to the ceiling.
 *
 * Why a share and not every throttle: IAM throttles a few requests at any rate (the bench meets 5 %
 * at every concurrency) and the SDK retries those; halving on each would collapse a fleet to one lane
 * for nothing. A fleet that overshoots the account's limit sees most of its requests refused, which
 * the share catches within a window. The cool-down lets the lanes already running drain before the
 * next judgement, so one burst is not counted twice.
 *
 * @example
 * ```ts
 * const limit = adaptiveLimit({ max: 8 });
 * limit.response(true); // one throttled answer: not yet a trend
 * limit.completed();    // a rotation ended
 * limit.current();      // 8
 * ```
 */
export interface AdaptiveLimit {
  /** How many tasks may run now (between `min` and `max`). */
  current(): number;
  /** One AWS answer (every attempt, retries included): throttled or not. */
  response(throttled: boolean): void;
  /** One task finished: a chance to raise the limit again. */
  completed(): void;
}

/**
 * Settings of {@link adaptiveLimit}.
 *
 * @example
 * ```ts
 * const settings: AdaptiveLimitSettings = { max: 8, window: 40, share: 0.25, coolDownMs: 2000 };
 * ```
 */
export interface AdaptiveLimitSettings {
  /** The ceiling, and where the limit starts. */
  readonly max: number;
  /** The floor. Default 1. */
  readonly min?: number;
  /** How many recent answers are judged. Default 40. */
  readonly window?: number;
  /** The share of throttled answers in a full window that halves the limit. Default 0.25. */
  readonly share?: number;
  /** After a decrease, no other change for this long. Default 2000 ms. */
  readonly coolDownMs?: number;
  /** The clock (tests pass their own). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * An additive-increase, multiplicative-decrease limit driven by throttled answers.
 *
 * @example
 * ```ts
 * const limit = adaptiveLimit({ max: 8 });
 * for (let i = 0; i < 40; i++) limit.response(true);
 * limit.current(); // 4
 * ```
 */
export function adaptiveLimit(settings: AdaptiveLimitSettings): AdaptiveLimit {
  const max = Math.max(1, Math.floor(settings.max));
  const min = Math.min(max, Math.max(1, Math.floor(settings.min ?? 1)));
  const window = settings.window ?? 40;
  const share = settings.share ?? 0.25;
  const coolDownMs = settings.coolDownMs ?? 2000;
  const now = settings.now ?? Date.now;
  let limit = max;
  let changedAt = Number.NEGATIVE_INFINITY;
  // The last `window` answers as a ring: 1 for throttled.
  const ring = new Uint8Array(window);
  let seen = 0;
  let throttled = 0;
  const cooling = () => now() - changedAt < coolDownMs;
  return {
    current: () => limit,
    response(isThrottled) {
      const slot = seen % window;
      if (seen >= window) throttled -= ring[slot] as number;
      ring[slot] = isThrottled ? 1 : 0;
      throttled += ring[slot] as number;
      seen++;
      if (seen < window || throttled < share * window || cooling()) return;
      if (limit > min) {
        limit = Math.max(min, Math.floor(limit / 2));
        changedAt = now();
      }
      // Fresh evidence for the next judgement: answers from before the decrease say nothing about after it.
      ring.fill(0);
      seen = 0;
      throttled = 0;
    },
    completed() {
      if (limit < max && !cooling()) limit++;
    },
  };
}

/**
 * What the realism proxy models, as data. Every duration is in milliseconds of the proxy's model
 * time, so a test can shrink a profile (`scaleProfile`) and stay fast without changing what happens,
 * only how long it takes. docs/aws-behaviour.md gives the source of each behaviour.
 */

/** A window in which a key that had propagated is refused again (one replica still behind). */
export interface Flap {
  /** Milliseconds after the key became valid on the service that the refusals start. */
  readonly afterMs: number;
  /** How long the refusals last. */
  readonly forMs: number;
}

/** Per-service propagation of a new (or re-activated) key. */
export interface Propagation {
  /** A new key is refused by STS for this long after CreateAccessKey returned. */
  readonly stsMs: number;
  /** … and by IAM for this long (IAM can lag STS). */
  readonly iamMs: number;
  /** Optional: accepted, then refused again for a while, per service. */
  readonly flap?: { readonly sts?: Flap; readonly iam?: Flap };
}

/** How IAM records a key's last use (IAM credential report: first use per 15-minute span). */
export interface LastUsedRecording {
  /** Only the first use in a window this long is recorded (AWS: 15 minutes). */
  readonly windowMs: number;
  /** A recorded use becomes visible to GetAccessKeyLastUsed only this long after it happened. */
  readonly lagMs: number;
  /** LastUsedDate is truncated to this resolution (a minute). */
  readonly resolutionMs: number;
}

/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface RateLimit {
  readonly burst: number;
  readonly perSecond: number;
}

/**
 * Everything the proxy can model. Absent parts behave like moto (no delay, no limit).
 *
 * @example
 * ```ts
 * const slowIam: RealismProfile = { propagation: { stsMs: 500, iamMs: 3_000 }, deactivationLagMs: 1_000 };
 * ```
 */
export interface RealismProfile {
  readonly propagation?: Propagation;
  /** An Inactive key keeps working this long after UpdateAccessKey, then is refused. */
  readonly deactivationLagMs?: number;
  readonly lastUsed?: LastUsedRecording;
  /** The server clock runs this far ahead of the machine's (negative: behind). Real time, never scaled. */
  readonly clockOffsetMs?: number;
  /** Requests whose X-Amz-Date is further than this from the server clock are refused. Real time, never scaled. */
  readonly maxSkewMs?: number;
  /** A new key is missing from ListAccessKeys for this long after CreateAccessKey. */
  readonly listLagMs?: number;
  /** IAM calls are throttled per account beyond this rate. */
  readonly iamRate?: RateLimit;
  /** A session lives `DurationSeconds * 1000 * sessionTimeScale` ms (1 = as AWS). */
  readonly sessionTimeScale?: number;
  /** A session's calls also count as its parent key's use (unsettled: docs/aws-behaviour.md). Default false. */
  readonly sessionUseCountsForParent?: boolean;
  /** A session is refused once its parent key is Inactive (unsettled: docs/aws-behaviour.md). Default false. */
  readonly sessionEndsWithParent?: boolean;
  /** The one MFA code GetSessionToken accepts; absent: any six digits. */
  readonly mfaCode?: string;
}

const MINUTE = 60_000;

/**
 * AWS as its documentation and public reports describe it on a typical day: STS accepts a new key after
 * about 2 s and IAM after about 5 s, an Inactive key is refused about 2 s after deactivation, last use
 * is recorded once per 15 minutes at minute resolution and shows up about 30 s late, a new key may be
 * missing from ListAccessKeys for 1 s, the clock tolerance is 5 minutes, IAM throttles beyond a burst of
 * 20 at 10 requests per second. The delays and rates are assumptions where no document settles them
 * (docs/aws-behaviour.md says which).
 *
 * @example
 * ```ts
 * const proxy = await startRealismProxy(motoUrl(), TYPICAL_AWS);
 * ```
 */
export const TYPICAL_AWS: RealismProfile = {
  propagation: { stsMs: 2_000, iamMs: 5_000 },
  deactivationLagMs: 2_000,
  lastUsed: { windowMs: 15 * MINUTE, lagMs: 30_000, resolutionMs: MINUTE },
  clockOffsetMs: 0,
  maxSkewMs: 5 * MINUTE,
  listLagMs: 1_000,
  iamRate: { burst: 20, perSecond: 10 },
  sessionTimeScale: 1,
};

/**
 * A profile with every modelled duration multiplied by `factor` (0.1 turns 5 s into 500 ms), rates
 * divided by it, so a test sees the same order of events in a tenth of the time. The clock offset and
 * the skew tolerance stay as they are: they are about the machine's clock, not about waiting.
 *
 * @example
 * ```ts
 * const fast = scaleProfile(TYPICAL_AWS, 0.1); // IAM accepts a new key after 500 ms
 * ```
 */
export function scaleProfile(profile: RealismProfile, factor: number): RealismProfile {
  const s = (ms: number) => Math.round(ms * factor);
  const flap = (f: Flap | undefined) => (f ? { afterMs: s(f.afterMs), forMs: s(f.forMs) } : undefined);
  const p = profile.propagation;
  return {
    ...profile,
    ...(p
      ? {
          propagation: {
            stsMs: s(p.stsMs),
            iamMs: s(p.iamMs),
            ...(p.flap ? { flap: { ...(p.flap.sts ? { sts: flap(p.flap.sts) } : {}), ...(p.flap.iam ? { iam: flap(p.flap.iam) } : {}) } } : {}),
          },
        }
      : {}),
    ...(profile.deactivationLagMs !== undefined ? { deactivationLagMs: s(profile.deactivationLagMs) } : {}),
    ...(profile.lastUsed
      ? { lastUsed: { windowMs: s(profile.lastUsed.windowMs), lagMs: s(profile.lastUsed.lagMs), resolutionMs: s(profile.lastUsed.resolutionMs) } }
      : {}),
    ...(profile.listLagMs !== undefined ? { listLagMs: s(profile.listLagMs) } : {}),
    ...(profile.iamRate ? { iamRate: { burst: profile.iamRate.burst, perSecond: profile.iamRate.perSecond / factor } } : {}),
    sessionTimeScale: (profile.sessionTimeScale ?? 1) * factor,
  };
}

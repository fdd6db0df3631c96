import type { LastUsedRecording } from "./profiles.js";

/** One recorded use, as GetAccessKeyLastUsed reports it. */
export interface RecordedUse {
  /** Model time truncated to the recording's resolution. */
  readonly date: number;
  readonly service: string;
  readonly region: string;
  /** Model time from which GetAccessKeyLastUsed shows it. */
  readonly visibleAt: number;
}

/**
 * Last-use recording as the IAM credential report documents it: "When an access key is used more than
 * once in a 15-minute span, only the first use is recorded". A recorded use shows up `lagMs` late, at
 * `resolutionMs` resolution.
 *
 * @example
 * ```ts
 * const uses = lastUseRecorder(() => profile.lastUsed);
 * uses.used("AKIA…", "sts", "us-east-1", clock.modelNow());
 * uses.visible("AKIA…", clock.modelNow()); // undefined until lagMs has passed
 * ```
 */
export function lastUseRecorder(recording: () => LastUsedRecording | undefined) {
  const records = new Map<string, RecordedUse[]>();
  const windowStart = new Map<string, number>();
  return {
    used(keyId: string, service: string, region: string, at: number): void {
      const r = recording() ?? { windowMs: 0, lagMs: 0, resolutionMs: 1 };
      const start = windowStart.get(keyId);
      if (start !== undefined && at - start < r.windowMs) return;
      windowStart.set(keyId, at);
      const date = r.resolutionMs > 0 ? Math.floor(at / r.resolutionMs) * r.resolutionMs : at;
      records.set(keyId, [...(records.get(keyId) ?? []), { date, service, region, visibleAt: at + r.lagMs }]);
    },
    /** The latest use of `keyId` visible at model time `now`. */
    visible(keyId: string, now: number): RecordedUse | undefined {
      return (records.get(keyId) ?? []).filter((u) => u.visibleAt <= now).at(-1);
    },
    /** Every use recorded for `keyId`, visible or not yet (for tests). */
    recorded(keyId: string): readonly RecordedUse[] {
      return records.get(keyId) ?? [];
    },
  };
}

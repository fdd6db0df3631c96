import type { Flap, RealismProfile } from "./profiles.js";

/** The services whose view of a key the proxy models separately. */
export type Service = "iam" | "sts";

interface KeyState {
  /** Model time the key was created, or last made Active again. */
  validFrom: number;
  /** Model time it was made Inactive, if it is now. */
  inactiveSince?: number;
  deletedAt?: number;
}

/**
 * What each service knows of each access key the proxy saw change: a new or re-activated key is refused
 * until it has propagated to that service (and during an optional flap after that); an Inactive key is
 * refused once the deactivation has propagated; a deleted key at once (moto refuses it too). Keys the
 * proxy never saw change (seeded before it started) are known everywhere.
 *
 * @example
 * ```ts
 * const keys = keyStates(() => profile);
 * keys.created("AKIA…", clock.modelNow());
 * keys.refused("AKIA…", "iam", clock.modelNow()); // true until profile.propagation.iamMs has passed
 * ```
 */
export function keyStates(profile: () => RealismProfile) {
  const states = new Map<string, KeyState>();
  const inFlap = (flap: Flap | undefined, sinceValid: number) => flap !== undefined && sinceValid >= flap.afterMs && sinceValid < flap.afterMs + flap.forMs;
  return {
    created(keyId: string, at: number): void {
      states.set(keyId, { validFrom: at });
    },
    statusChanged(keyId: string, status: string, at: number): void {
      const state = states.get(keyId);
      if (status === "Inactive") states.set(keyId, { validFrom: state?.validFrom ?? Number.NEGATIVE_INFINITY, inactiveSince: at });
      // Re-activation propagates like a new key (an assumption: docs/aws-behaviour.md).
      else if (status === "Active" && state?.inactiveSince !== undefined) states.set(keyId, { validFrom: at });
    },
    deleted(keyId: string, at: number): void {
      states.set(keyId, { ...(states.get(keyId) ?? { validFrom: Number.NEGATIVE_INFINITY }), deletedAt: at });
    },
    /** True when `service` refuses a request signed by `keyId` at model time `now`. */
    refused(keyId: string, service: Service, now: number): boolean {
      const state = states.get(keyId);
      if (!state) return false;
      if (state.deletedAt !== undefined) return true;
      const p = profile();
      if (state.inactiveSince !== undefined) return now - state.inactiveSince >= (p.deactivationLagMs ?? 0);
      const delay = service === "iam" ? (p.propagation?.iamMs ?? 0) : (p.propagation?.stsMs ?? 0);
      const sinceValid = now - state.validFrom - delay;
      return sinceValid < 0 || inFlap(p.propagation?.flap?.[service], sinceValid);
    },
    /** True when the key was created less than `listLagMs` ago (ListAccessKeys may not show it yet). */
    hiddenFromList(keyId: string, now: number): boolean {
      const state = states.get(keyId);
      return state !== undefined && state.inactiveSince === undefined && now - state.validFrom < (profile().listLagMs ?? 0);
    },
    /** Whether the key is Inactive in the proxy's view (so sessions can end with it). */
    inactive(keyId: string): boolean {
      const state = states.get(keyId);
      return state?.inactiveSince !== undefined || state?.deletedAt !== undefined;
    },
    createdAt(keyId: string): number | undefined {
      return states.get(keyId)?.validFrom;
    },
  };
}

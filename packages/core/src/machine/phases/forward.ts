import { parseIdentityArn } from "../arn.js";
import { isThrottled } from "../backoff.js";
import type { Failure, StateIn } from "../types.js";
import { abortedFailure, advance, again, enter, fail, record, retireOldKey, retryWait, rollback, signerFor } from "./moves.js";
import type { Decision, PhaseSpec } from "./spec.js";

// Forward: create, install and verify the new key. A failure from here on rolls back.

/** Asks IAM for a new key. */
export const creating: PhaseSpec<"creating"> = {
  step: "create-key",
  group: "forward",
  effect: (s) => ({ type: "createAccessKey", userName: s.userName, signer: signerFor(s, "old") }),
  on: {
    waited: again,
    keyCreated: (s, e) =>
      advance({ ...s, newAccessKeyId: e.accessKeyId }, { at: e.at, step: "create-key", detail: `created ${e.accessKeyId}`, to: "installing" }),
  },
  onFailure: (s, failure, at, random) => {
    // Throttled means refused before anything was done: no key can exist, so back off and ask again.
    if (isThrottled(failure)) return retryWait(s, "create", "create-key", at, random) ?? fail(s, "create-key", at, failure);
    // Only a definite refusal proves nothing was created. Anything else (network, timeout, 5xx, a
    // truncated or HTML or JSON body, an error name we do not know) may hide a key that IAM created:
    // look before retrying, or it stays Active in IAM with nobody holding its secret.
    if (!mayHaveCreated(failure)) return fail(s, "create-key", at, failure);
    return advance(
      { ...s, createRequested: true },
      { at, step: "create-key", detail: `${failure.code}: checking whether a key was created anyway`, to: "reconciling", status: "retry" },
    );
  },
  // The create request may already have landed: reconcile, then stop.
  onAbort: (s, at) =>
    advance(
      { ...s, aborted: true, createRequested: true, failure: { ...abortedFailure(), phase: s.phase } },
      { at, step: "create-key", detail: "aborted", to: "reconciling", status: "failed" },
    ),
};

/**
 * Error names with which IAM refuses a CreateAccessKey before creating anything (and local failures
 * before any request was sent). Every other answer is ambiguous.
 */
const DEFINITE_REFUSALS = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "AuthFailure",
  "ExpiredToken",
  "ExpiredTokenException",
  "IncompleteSignature",
  "InvalidAction",
  "InvalidClientTokenId",
  "InvalidParameterCombination",
  "InvalidParameterValue",
  "InvalidQueryParameter",
  "LimitExceeded",
  "MalformedQueryString",
  "MissingAction",
  "MissingAuthenticationToken",
  "MissingParameter",
  "MissingSigningKey",
  "NoSuchEntity",
  "OptInRequired",
  "RequestExpired",
  "SignatureDoesNotMatch",
  "UnrecognizedClientException",
  "ValidationError",
]);

/** Whether a failed CreateAccessKey may have created a key anyway (its answer does not prove otherwise). */
function mayHaveCreated(failure: Failure): boolean {
  if (failure.retry === "service") return true;
  if (failure.source === "aws") return !DEFINITE_REFUSALS.has(failure.code);
  // An abort while the request was in flight; a journal or store failure happens before any request.
  return failure.code === "Aborted";
}

/** Writes the new key into the store (and reads it back). */
export const installing: PhaseSpec<"installing"> = {
  step: "install",
  group: "forward",
  effect: (s) => ({ type: "install", accessKeyId: s.newAccessKeyId }),
  on: {
    installed: (s, e) =>
      advance(
        { ...s, installedAt: e.at, consecutiveSuccesses: 0 },
        { at: e.at, step: "install", detail: `${s.store} now holds ${s.newAccessKeyId}`, to: "verifying", freshLoop: "verify" },
      ),
  },
  onFailure: (s, failure, at) => rollback(s, "install", at, failure),
  onAbort: (s, at) => rollback({ ...s, aborted: true }, "install", at, abortedFailure()),
};

/** Calls STS with the new key until it succeeds `requiredSuccesses` times in a row. */
export const verifying: PhaseSpec<"verifying"> = {
  step: "verify",
  group: "forward",
  effect: (s) => ({ type: "verify", accessKeyId: s.newAccessKeyId }),
  on: {
    waited: (s) => ({ state: s }),
    verified: (s, e) => onVerified(s, e.arn, e.at),
  },
  onFailure: (s, failure, at, random) => {
    const counted = { ...s, verifyAttempts: s.verifyAttempts + 1, consecutiveSuccesses: 0 };
    if (failure.retry === "no" || s.aborted) return rollback(withPermissionStep(counted, failure), "verify", at, failure);
    return (
      retryWait(counted, "verify", "verify", at, random) ??
      rollback(counted, "verify", at, {
        source: "keyup",
        code: "VerifyTimeout",
        message: `the new key ${s.newAccessKeyId} was still rejected (${failure.code}) after ${counted.verifyAttempts} attempts in ${Math.round((at - (s.loopStartedAt ?? at)) / 1000)} s (verify timeout ${s.config.verifyTimeoutMs / 1000} s)`,
        retry: "no",
      })
    );
  },
  onAbort: (s, at) => rollback({ ...s, aborted: true }, "verify", at, abortedFailure()),
};

function onVerified(s: StateIn<"verifying">, arn: string, at: number): Decision {
  const counted: StateIn<"verifying"> = { ...s, verifyAttempts: s.verifyAttempts + 1, retries: { ...s.retries, verify: s.retries.verify + 1 } };
  const identity = parseIdentityArn(arn);
  const matches = counted.userArn !== undefined ? arn === counted.userArn : identity.type === "user" && identity.name === counted.userName;
  if (!matches) {
    return rollback(counted, "verify", at, {
      source: "keyup",
      code: "IdentityMismatch",
      message: `the new key ${s.newAccessKeyId} authenticates as ${arn}, not as ${counted.userArn ?? `IAM user ${counted.userName}`}`,
      retry: "no",
    });
  }
  const consecutive = counted.consecutiveSuccesses + 1;
  const s2 = { ...counted, userArn: arn, consecutiveSuccesses: consecutive };
  if (consecutive < s.config.requiredSuccesses) {
    return { state: record(s2, at, "verify", "retry", `success ${consecutive} of ${s.config.requiredSuccesses}`), waitMs: s.config.confirmIntervalMs };
  }
  const verified = record(s2, at, "verify", "ok", `${consecutive} consecutive successes after ${s2.verifyAttempts} attempts`);
  if (s.config.description !== undefined) return enter(verified, "tagging-new");
  return retireOldKey(verified, at);
}

/** An AccessDenied during verify is a missing permission: the report says which one to grant. */
function withPermissionStep(s: StateIn<"verifying">, failure: Failure): StateIn<"verifying"> {
  if (failure.source !== "aws" || (failure.code !== "AccessDenied" && failure.code !== "AccessDeniedException")) return s;
  return { ...s, nextSteps: [{ type: "grant-permission", userName: s.userName, action: `iam:${failure.operation ?? "ListAccessKeys"}` }] };
}

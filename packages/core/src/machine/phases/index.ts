import { checkingUse, recordingGrace, taggingNew, untaggingOld } from "./bookkeeping.js";
import { creating, installing, verifying } from "./forward.js";
import { backingUp, checkingGrace, deletingInactive, idle, listingKeys, readingStore, resolvingIdentity, untaggingInactive } from "./inspect.js";
import { resuming } from "./resume.js";
import { deactivating, deletingOld } from "./retire.js";
import { deletingNew, deletingOrphan, reconciling, restoring } from "./rollback.js";
import type { PhaseSpec, PhaseTable } from "./spec.js";

const done: PhaseSpec = {
  step: "done",
  group: "terminal",
  effect: () => {
    throw new Error("keyup bug: no effect for phase done");
  },
  on: {},
  // Nothing happens after the end: the dispatcher returns a finished state unchanged.
  onFailure: (s) => ({ state: s }),
  onAbort: (s) => ({ state: s }),
};

/**
 * Every phase of a rotation, in the order a rotation usually meets them: its step name, group,
 * effect, event handlers, and what a failure and an abort do. `transition` only dispatches here.
 *
 * @example
 * ```ts
 * phaseTable.verifying.step; // "verify"
 * ```
 */
export const phaseTable: PhaseTable = {
  idle,
  "reading-store": readingStore,
  "resolving-identity": resolvingIdentity,
  "listing-keys": listingKeys,
  "checking-grace": checkingGrace,
  "deleting-inactive": deletingInactive,
  "untagging-inactive": untaggingInactive,
  "backing-up": backingUp,
  creating,
  installing,
  verifying,
  "tagging-new": taggingNew,
  "checking-use": checkingUse,
  deactivating,
  "deleting-old": deletingOld,
  "recording-grace": recordingGrace,
  "untagging-old": untaggingOld,
  restoring,
  "deleting-new": deletingNew,
  reconciling,
  "deleting-orphan": deletingOrphan,
  resuming,
  done,
};

// @keyup/core/machine: the rotation state machine and the runner that executes its effects. For
// shells that drive a rotation themselves (a Secrets Manager rotation function, tests, tools); most
// users want `rotate()` from @keyup/core instead. Every name here is a decision:
// test/public-names.test.ts lists them.

export type { ProgressEvent, RotationSecrets, RunnerContext } from "../runner.js";
export { runRotation } from "../runner.js";
export type { CallerIdentity } from "./arn.js";
export { parseIdentityArn } from "./arn.js";
export { backoffDelay } from "./backoff.js";
export { errorOf, reportOf } from "./outcome.js";
export { phaseTable } from "./phases/index.js";
export { inPhase } from "./phases/moves.js";
export type { Decision, EventHandlers, PhaseGroup, PhaseSpec, PhaseTable, StepName } from "./phases/spec.js";
export { effectFor, groupOf, initialRotationState, isTerminal, resumeState, stepOf, transition } from "./transition.js";
export type {
  AwsFailure,
  Effect,
  Failure,
  KeySummary,
  KeyupFailure,
  KeyupFailureCode,
  Phase,
  RetryCounts,
  RetryLoop,
  RotationCommon,
  RotationConfig,
  RotationEvent,
  RotationState,
  Signer,
  Stage,
  StageFacts,
  StateIn,
  StoreFailureData,
  Transition,
} from "./types.js";
export { defaultRotationConfig, graceTagKey } from "./types.js";

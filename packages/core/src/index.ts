export {
  checkMfaCode,
  checkRotateSettings,
  describeOptionProblem,
  type OptionProblem,
  type RotateOptionName,
  type RotateSettings,
} from "./_internal/rotate-options.js";
export * from "./aws-port.js";
export * from "./cleanup.js";
export * from "./composite-store.js";
export * from "./credential-store.js";
export * from "./errors.js";
export * from "./journal.js";
export * from "./list-keys.js";
export * from "./machine/arn.js";
export * from "./machine/outcome.js";
export * from "./machine/transition.js";
export * from "./machine/types.js";
export * from "./memory-store.js";
export type * from "./report.js";
export * from "./rotate.js";
export * from "./rotate-many.js";
export * from "./runner.js";

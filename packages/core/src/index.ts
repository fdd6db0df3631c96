// The public API of @keyup/core: what a user of the library needs to rotate keys, write a store or
// a journal, and read the results. The state machine and its runner are at @keyup/core/machine.
// Every name here is a decision: test/public-names.test.ts lists them.

// The option rules rotate() applies, shared with the CLI so a bad value gets one message everywhere.
export type { OptionProblem, RotateOptionName, RotateSettings } from "./_internal/rotate-options.js";
export { checkMfaCode, checkRotateSettings, describeOptionProblem } from "./_internal/rotate-options.js";
export type { AwsOptions, AwsPort, SigningCredentials } from "./aws-port.js";
export { createAwsPort } from "./aws-port.js";
export type { CleanupOptions, CleanupReport } from "./cleanup.js";
export { cleanup } from "./cleanup.js";
export { compositeStore } from "./composite-store.js";
export type {
  AccessKeyPair,
  CredentialStore,
  StoreBackup,
  StoreCapabilities,
  StoreErrorCode,
  StoreFailure,
  StoreLock,
  StoreLockDomain,
} from "./credential-store.js";
export { createStoreError, isAccessKeyPair } from "./credential-store.js";
export type {
  AbortedError,
  AwsError,
  ConfigError,
  InternalError,
  JournalError,
  KeyupError,
  LimitError,
  LockError,
  RollbackFailedError,
  RotationError,
  StoreError,
  VerifyError,
} from "./errors.js";
export { awsErrorName, classifyAwsErrorName, redact, toAwsError } from "./errors.js";
export type { FileJournalOptions, JournalEntry, JournalProblem, RotationJournal } from "./journal.js";
export { defaultJournalPath, fileJournal } from "./journal.js";
export type { AccessKeyInfo, ListKeysOptions } from "./list-keys.js";
export { listKeys, openMfaSession } from "./list-keys.js";
// Types that public signatures mention (AwsPort, ProgressEvent, JournalEntry); their logic is in the machine.
export type { Effect, KeySummary, RotationConfig, RotationState } from "./machine/types.js";
export { graceTagKey } from "./machine/types.js";
export type { MemoryStore, MemoryStoreOptions } from "./memory-store.js";
export { memoryStore } from "./memory-store.js";
export type { NextStep, RotationOutcome, RotationReport, RotationStep } from "./report.js";
export type { KeyupLogger, MfaOptions, PendingRotation, RecoverOptions, RotateOptions, RotationPlan } from "./rotate.js";
export { pendingRotations, plan, recover, rotate } from "./rotate.js";
export type { FleetReport, FleetResult, RotateManyOptions } from "./rotate-many.js";
export { formatFleetTable, rotateMany } from "./rotate-many.js";
export type { ProgressEvent, RotationSecrets } from "./runner.js";

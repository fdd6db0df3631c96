import { readFile } from "node:fs/promises";
import { describe, expect, test } from "vitest";

// Every name each entry point of @keyup/core exports, values and types. A new export fails this test
// until it is added here: a public name is a decision, not a side effect of `export *`.

const ENTRY_POINTS = {
  "@keyup/core": {
    file: "../src/index.ts",
    load: () => import("@keyup/core"),
    values: [
      "awsErrorName",
      "checkMfaCode",
      "checkRotateSettings",
      "classifyAwsErrorName",
      "cleanup",
      "compositeStore",
      "createAwsPort",
      "createStoreError",
      "defaultJournalPath",
      "describeOptionProblem",
      "fileJournal",
      "formatFleetTable",
      "graceTagKey",
      "isAccessKeyPair",
      "listKeys",
      "memoryStore",
      "openMfaSession",
      "pendingRotations",
      "plan",
      "recover",
      "redact",
      "rotate",
      "rotateMany",
      "toAwsError",
    ],
    types: [
      "AbortedError",
      "AccessKeyInfo",
      "AccessKeyPair",
      "AwsError",
      "AwsOptions",
      "AwsPort",
      "CleanupOptions",
      "CleanupReport",
      "ConfigError",
      "CredentialStore",
      "Effect",
      "FileJournalOptions",
      "FleetReport",
      "FleetResult",
      "InternalError",
      "JournalEntry",
      "JournalError",
      "JournalProblem",
      "KeySummary",
      "KeyupError",
      "KeyupLogger",
      "LimitError",
      "ListKeysOptions",
      "LockError",
      "MemoryStore",
      "MemoryStoreOptions",
      "MfaOptions",
      "NextStep",
      "OptionProblem",
      "PendingRotation",
      "ProgressEvent",
      "RecoverOptions",
      "RollbackFailedError",
      "RotateManyOptions",
      "RotateOptionName",
      "RotateOptions",
      "RotateSettings",
      "RotationConfig",
      "RotationError",
      "RotationJournal",
      "RotationOutcome",
      "RotationPlan",
      "RotationReport",
      "RotationSecrets",
      "RotationState",
      "RotationStep",
      "SigningCredentials",
      "StoreBackup",
      "StoreCapabilities",
      "StoreError",
      "StoreErrorCode",
      "StoreFailure",
      "StoreLock",
      "StoreLockDomain",
      "VerifyError",
    ],
  },
  "@keyup/core/machine": {
    file: "../src/machine/index.ts",
    load: () => import("@keyup/core/machine"),
    values: [
      "backoffDelay",
      "defaultRotationConfig",
      "effectFor",
      "errorOf",
      "graceTagKey",
      "groupOf",
      "initialRotationState",
      "inPhase",
      "isTerminal",
      "parseIdentityArn",
      "phaseTable",
      "reportOf",
      "resumeState",
      "runRotation",
      "stepOf",
      "transition",
    ],
    types: [
      "AwsFailure",
      "CallerIdentity",
      "Decision",
      "Effect",
      "EventHandlers",
      "Failure",
      "KeySummary",
      "KeyupFailure",
      "KeyupFailureCode",
      "Phase",
      "PhaseGroup",
      "RetryCounts",
      "RetryLoop",
      "PhaseSpec",
      "PhaseTable",
      "ProgressEvent",
      "RotationCommon",
      "RotationConfig",
      "RotationEvent",
      "RotationSecrets",
      "RotationState",
      "RunnerContext",
      "Signer",
      "Stage",
      "StageFacts",
      "StateIn",
      "StoreFailureData",
      "Transition",
      "StepName",
    ],
  },
} as const;

/** The names an entry file re-exports, split into `export { … }` (values) and `export type { … }`. */
async function declaredExports(file: string): Promise<{ values: string[]; types: string[] }> {
  const text = await readFile(new URL(file, import.meta.url), "utf8");
  expect(text).not.toMatch(/export \*/);
  const names = (kind: "value" | "type") =>
    [...text.matchAll(kind === "type" ? /export type \{([^}]*)\}/g : /export \{([^}]*)\}/g)].flatMap((m) =>
      (m[1] ?? "")
        .split(",")
        .map((n) => n.trim())
        .filter(Boolean),
    );
  return { values: names("value").sort(), types: names("type").sort() };
}

describe("public names", () => {
  for (const [entry, expected] of Object.entries(ENTRY_POINTS)) {
    test(`${entry} exports exactly the listed values and types`, async () => {
      const declared = await declaredExports(expected.file);
      expect(declared.values).toEqual([...expected.values].sort());
      expect(declared.types).toEqual([...expected.types].sort());
      expect(Object.keys(await expected.load()).sort()).toEqual([...expected.values].sort());
    });
  }
});

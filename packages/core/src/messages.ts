import type { NextStep } from "./report.js";

// The library's words for what the machine returns as data. The machine itself writes no advice
// that names an option, a flag or a command; the CLI has its own renderer (flags, `aws iam …`).

/**
 * The library's words for a rotation's next steps: one line each (a failed restore takes three).
 * Names AWS API operations and `rotate()` options, never CLI flags or commands.
 *
 * @example
 * ```ts
 * describeNextSteps([{ type: "delete-key", userName: "ci-bot", accessKeyId: "AKIA…" }]);
 * // ["delete IAM user ci-bot's access key AKIA… (DeleteAccessKey)"]
 * ```
 */
export function describeNextSteps(steps: readonly NextStep[]): string[] {
  return steps.flatMap(describeNextStep);
}

function describeNextStep(step: NextStep): string[] {
  switch (step.type) {
    case "delete-key":
      return [`delete IAM user ${step.userName}'s access key ${step.accessKeyId} (DeleteAccessKey)`];
    case "deactivate-key":
      return [`set IAM user ${step.userName}'s access key ${step.accessKeyId} to Inactive (UpdateAccessKey)`];
    case "check-store":
      return [
        `${step.store} may still hold the new key ${step.newAccessKeyId}, which was not verified; its previous content is kept at ${step.backup ?? "(in memory)"}`,
        `if the store holds ${step.newAccessKeyId} and it works (GetCallerIdentity), keep it and delete the old key ${step.oldAccessKeyId} of IAM user ${step.userName} (DeleteAccessKey)`,
        `otherwise put the previous content back and delete the new key ${step.newAccessKeyId} of IAM user ${step.userName} (DeleteAccessKey)`,
      ];
    case "find-lost-key":
      return [
        `CreateAccessKey's answer was lost and keyup could not check for a new key: list IAM user ${step.userName}'s keys (ListAccessKeys) and delete any key other than ${step.keepAccessKeyId}`,
      ];
    case "skip-in-use-guard":
      return ["to retire the old key although it is in use, rotate again with inUseGuard: false"];
    case "allow-delete-inactive":
      return ['to let keyup delete an Inactive key held by no store, pass onLimit: "delete-inactive"'];
    case "cleanup-after":
      return [`${step.accessKeyId} may be deleted after ${step.after}: call cleanup() then`];
    case "grant-permission":
      return [`allow ${step.action} to IAM user ${step.userName} on itself (${policyLine(step.action)}), then rotate again`];
  }
}

/** The policy statement that allows `action` on the signing user itself (security.md's form). */
function policyLine(action: string): string {
  return `{"Effect":"Allow","Action":"${action}","Resource":"arn:aws:iam::<account>:user/\${aws:username}"}`;
}

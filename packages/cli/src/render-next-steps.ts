import type { NextStep } from "@keyup/core";

/**
 * The CLI's words for a rotation's next steps: `aws iam …` commands and keyup's own flags, one line
 * each (a failed restore takes three). The library returns the steps as data; only the CLI knows its
 * flags and that its users have the AWS CLI at hand.
 *
 * @example
 * ```ts
 * renderNextSteps([{ type: "delete-key", userName: "ci-bot", accessKeyId: "AKIA…" }]);
 * // ["aws iam delete-access-key --user-name ci-bot --access-key-id AKIA…"]
 * ```
 */
export function renderNextSteps(steps: readonly NextStep[]): string[] {
  return steps.flatMap(renderNextStep);
}

function renderNextStep(step: NextStep): string[] {
  switch (step.type) {
    case "delete-key":
      return [deleteKey(step.userName, step.accessKeyId)];
    case "deactivate-key":
      return [`aws iam update-access-key --user-name ${step.userName} --access-key-id ${step.accessKeyId} --status Inactive`];
    case "check-store":
      return [
        `${step.store} may still hold the new key ${step.newAccessKeyId}, which was not verified; its previous content is kept at ${step.backup ?? "(in memory)"}`,
        `if the store holds ${step.newAccessKeyId} and it works (aws sts get-caller-identity), keep it and delete the old key: ${deleteKey(step.userName, step.oldAccessKeyId)}`,
        `otherwise put the previous content back and delete the new key: ${deleteKey(step.userName, step.newAccessKeyId)}`,
      ];
    case "find-lost-key":
      return [
        `CreateAccessKey's answer was lost and keyup could not check for a new key: run aws iam list-access-keys --user-name ${step.userName} and delete any key other than ${step.keepAccessKeyId} with ${deleteKey(step.userName, "KEY_ID")}`,
      ];
    case "skip-in-use-guard":
      return ["rerun with --force to retire the old key although it is in use"];
    case "allow-delete-inactive":
      return ["rerun with --delete-inactive to let keyup delete an Inactive key held by no store"];
    case "cleanup-after":
      return [`run keyup cleanup after ${step.after} to delete ${step.accessKeyId}`];
    case "grant-permission":
      return [
        `add to IAM user ${step.userName}'s policy {"Effect":"Allow","Action":"${step.action}","Resource":"arn:aws:iam::<account>:user/\${aws:username}"} (docs/security.md), then rerun keyup up`,
      ];
  }
}

function deleteKey(userName: string, accessKeyId: string): string {
  return `aws iam delete-access-key --user-name ${userName} --access-key-id ${accessKeyId}`;
}

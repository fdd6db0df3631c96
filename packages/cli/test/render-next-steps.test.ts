import { describe, expect, test } from "vitest";
import { renderNextSteps } from "../src/render-next-steps.js";

const NEW = "AKIANEWNEWNEWNEW0002";
const OLD = "AKIAOLDOLDOLDOLD0001";

describe("renderNextSteps: the CLI's words for the machine's next steps", () => {
  test("keys to retire or clean up become aws iam commands", () => {
    expect(
      renderNextSteps([
        { type: "deactivate-key", userName: "alice", accessKeyId: OLD },
        { type: "delete-key", userName: "alice", accessKeyId: NEW },
      ]),
    ).toEqual([
      `aws iam update-access-key --user-name alice --access-key-id ${OLD} --status Inactive`,
      `aws iam delete-access-key --user-name alice --access-key-id ${NEW}`,
    ]);
  });

  test("a failed restore names the backup and both ways out", () => {
    const lines = renderNextSteps([
      { type: "check-store", store: "ini:/x#ci", userName: "alice", oldAccessKeyId: OLD, newAccessKeyId: NEW, backup: "/x.keyup-backup" },
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain("/x.keyup-backup");
    expect(lines[1]).toContain(`aws iam delete-access-key --user-name alice --access-key-id ${OLD}`);
    expect(lines[2]).toContain(`aws iam delete-access-key --user-name alice --access-key-id ${NEW}`);
  });

  test("hints name the CLI's flags and operations", () => {
    expect(renderNextSteps([{ type: "skip-in-use-guard" }])[0]).toContain("--force");
    expect(renderNextSteps([{ type: "allow-delete-inactive" }])[0]).toContain("--delete-inactive");
    expect(renderNextSteps([{ type: "cleanup-after", accessKeyId: OLD, after: "2026-01-08T00:00:00.000Z" }])[0]).toContain("keyup cleanup");
    expect(renderNextSteps([{ type: "find-lost-key", userName: "alice", keepAccessKeyId: OLD }])[0]).toContain("aws iam list-access-keys --user-name alice");
    expect(renderNextSteps([{ type: "grant-permission", userName: "alice", action: "iam:ListAccessKeys" }])[0]).toBe(
      `add to IAM user alice's policy {"Effect":"Allow","Action":"iam:ListAccessKeys","Resource":"arn:aws:iam::<account>:user/\${aws:username}"} (docs/security.md), then rerun keyup up`,
    );
  });
});

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { graceTagKey } from "@keyup/core";
import { describe, expect, test } from "vitest";

// docs/security.md is what people paste into IAM: its policy must grant every IAM action keyup's code
// sends (read from the sources, not from a list kept by hand), its MFA Deny must cover the same, and
// its tag condition must let through the tag keys keyup actually writes.

const ROOT = join(import.meta.dirname, "..", "..", "..");
const SRC = join(ROOT, "packages", "core", "src");

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string[];
  Resource: string;
  Condition?: Record<string, Record<string, string | string[]>>;
}

async function jsonBlocks(): Promise<unknown[]> {
  const text = await readFile(join(ROOT, "docs", "security.md"), "utf8");
  return [...text.matchAll(/```json\n([\s\S]*?)```/g)].flatMap((m) => {
    try {
      return [JSON.parse(m[1] ?? "")];
    } catch {
      return [];
    }
  });
}

/**
 * `iam:<Action>` for every IAM command class the core's sources use: any `<Name>Command` they mention
 * (imported, or `new sdk.<Name>Command` on the lazily loaded SDK) that `@aws-sdk/client-iam` exports.
 */
async function iamActionsInCode(): Promise<string[]> {
  const iam = new Set(Object.keys(await import("@aws-sdk/client-iam")));
  const files = (await readdir(SRC, { recursive: true })).filter((f) => f.endsWith(".ts"));
  const actions = new Set<string>();
  for (const f of files) {
    const text = await readFile(join(SRC, f), "utf8");
    for (const name of text.matchAll(/\b(\w+)Command\b/g)) if (iam.has(`${name[1]}Command`)) actions.add(`iam:${name[1]}`);
  }
  return [...actions].sort();
}

/** An IAM `StringLike` pattern (`*` any run, `?` one character). */
const like = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  ).test(value);

describe("docs/security.md's policies", () => {
  test("the documented policy allows every IAM action keyup's code calls, in the partition-neutral ARN form", async () => {
    const [policy] = (await jsonBlocks()) as { Statement: Statement[] }[];
    const allowed = new Set(policy?.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => s.Action));
    const inCode = await iamActionsInCode();
    expect(inCode).toContain("iam:CreateAccessKey");
    expect(inCode.filter((a) => !allowed.has(a))).toEqual([]);
    for (const s of policy?.Statement ?? []) expect(s.Resource).toMatch(/^arn:<partition>:iam::<account>:user\//);
  });

  test("self-tagging is limited to the tag keys keyup writes, and those keys pass the condition", async () => {
    const [policy] = (await jsonBlocks()) as { Statement: Statement[] }[];
    const tagging = policy?.Statement.find((s) => s.Action.includes("iam:TagUser"));
    expect(tagging?.Action).toContain("iam:UntagUser");
    const patterns = tagging?.Condition?.["ForAllValues:StringLike"]?.["aws:TagKeys"] as string[];
    const written = ["AKIAIOSFODNN7EXAMPLE", graceTagKey("AKIAIOSFODNN7EXAMPLE")];
    for (const key of written) expect(patterns.some((p) => like(p, key))).toBe(true);
    for (const other of ["team", "cost-center", "aws:cloudformation:stack-name"]) expect(patterns.some((p) => like(p, other))).toBe(false);
  });

  test("the MFA pattern is a Deny with BoolIfExists false covering every IAM action keyup calls", async () => {
    const deny = ((await jsonBlocks()) as Statement[]).find((s) => s.Effect === "Deny");
    expect(deny?.Condition).toEqual({ BoolIfExists: { "aws:MultiFactorAuthPresent": "false" } });
    const inCode = await iamActionsInCode();
    expect(inCode.filter((a) => !deny?.Action.includes(a))).toEqual([]);
  });
});

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, onTestFinished, test } from "vitest";
import { cfnLint } from "../../test-support/cfn-lint.js";

const TEMPLATE = fileURLToPath(new URL("./template.yaml", import.meta.url));

test("template.yaml is cfn-lint clean, and the same template defaulting to nodejs20.x is not (W1030)", async () => {
  // The second file proves the lint would catch the runtime AWS stopped accepting for new functions.
  const text = await readFile(TEMPLATE, "utf8");
  const old = text
    .replace("Default: nodejs24.x", "Default: nodejs20.x")
    .replace("AllowedValues: [nodejs22.x, nodejs24.x]", "AllowedValues: [nodejs20.x, nodejs22.x]");
  expect(old).not.toBe(text);
  const dir = await mkdtemp(join(tmpdir(), "keyup-cfn-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const oldPath = join(dir, "template-nodejs20.yaml");
  await writeFile(oldPath, old);

  const { status, output } = cfnLint(TEMPLATE, oldPath);
  const findings = output.split("\n").filter(Boolean);
  expect(findings.filter((line) => line.startsWith(TEMPLATE))).toEqual([]);
  expect(findings.some((line) => line.startsWith(oldPath) && line.includes("W1030"))).toBe(true);
  expect(status).not.toBe(0);
}, 60_000);

test("every ARN the template builds names the partition with AWS::Partition, none hard-codes arn:aws:", async () => {
  const text = await readFile(TEMPLATE, "utf8");
  expect(text).not.toMatch(/arn:aws:/);
  expect(text).toMatch(/arn:\$\{AWS::Partition\}:iam::/);
});

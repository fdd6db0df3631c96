import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RotatedAccessKey } from "@keyup/cdk";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cfnLint } from "../../../test-support/cfn-lint.js";

// One app, synthesized once for the whole file: a stack where the construct creates the secret, and
// one where it adopts an existing secret.
let created: Template;
let adopted: Template;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "keyup-cdk-"));
  const app = new App({ outdir: join(dir, "cdk.out") });
  const one = new Stack(app, "Created", { env: { account: "123456789012", region: "eu-west-1" } });
  new RotatedAccessKey(one, "DeployerKey", { user: new iam.User(one, "Deployer"), secretName: "ci/deployer", schedule: Duration.days(30) });
  const two = new Stack(app, "Adopted");
  new RotatedAccessKey(two, "AppKey", {
    user: iam.User.fromUserName(two, "App", "app"),
    secret: secretsmanager.Secret.fromSecretNameV2(two, "Existing", "app/iam-key"),
    schedule: Duration.days(7),
  });
  created = Template.fromStack(one);
  adopted = Template.fromStack(two);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Every IAM action any policy of the template allows. */
function actions(template: Template): string[] {
  const all: string[] = [];
  for (const type of ["AWS::IAM::Policy", "AWS::IAM::Role"]) {
    for (const resource of Object.values(template.findResources(type)) as { Properties: Record<string, unknown> }[]) {
      const docs =
        type === "AWS::IAM::Policy"
          ? [resource.Properties.PolicyDocument]
          : ((resource.Properties.Policies as { PolicyDocument: unknown }[]) ?? []).map((p) => p.PolicyDocument);
      for (const doc of docs as { Statement: { Action: string | string[] }[] }[]) for (const s of doc.Statement) all.push(...[s.Action].flat());
    }
  }
  return all;
}

describe("RotatedAccessKey creating its secret", () => {
  test("creates the secret from a first key of the user, the function, its role, the invoke permission and the schedule", () => {
    created.resourceCountIs("AWS::SecretsManager::Secret", 1);
    created.resourceCountIs("AWS::IAM::AccessKey", 1);
    created.resourceCountIs("AWS::Lambda::Function", 1);
    created.hasResourceProperties("AWS::SecretsManager::Secret", {
      Name: "ci/deployer",
      SecretString: {
        "Fn::Join": ["", Match.arrayWith([Match.stringLikeRegexp('"AccessKeyId"'), { Ref: Match.stringLikeRegexp("FirstKey") }])],
      },
    });
    created.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs24.x",
      Handler: "index.handler",
      Architectures: ["arm64"],
      Timeout: 180,
      Environment: { Variables: { KEYUP_VERIFY_TIMEOUT_MS: "30000", KEYUP_RETIRE_OLD: "next-rotation" } },
    });
    created.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "secretsmanager.amazonaws.com",
      SourceAccount: "123456789012",
    });
    created.hasResourceProperties("AWS::SecretsManager::RotationSchedule", {
      SecretId: { Ref: Match.stringLikeRegexp("Secret") },
      RotationLambdaARN: { "Fn::GetAtt": [Match.stringLikeRegexp("Function"), "Arn"] },
      RotationRules: { ScheduleExpression: "rate(30 days)" },
      RotateImmediatelyOnUpdate: false,
    });
  });

  test("the function's role may only stage versions of this secret, keep its journal tags on it and write its own logs: no IAM, no * action", () => {
    created.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: Match.stringLikeRegexp("Role") }],
      PolicyDocument: {
        Statement: [
          {
            Sid: "StageVersionsOfThisSecret",
            Effect: "Allow",
            Action: [
              "secretsmanager:DescribeSecret",
              "secretsmanager:GetSecretValue",
              "secretsmanager:ListSecretVersionIds",
              "secretsmanager:PutSecretValue",
              "secretsmanager:UpdateSecretVersionStage",
            ],
            Resource: { Ref: Match.stringLikeRegexp("Secret") },
          },
          {
            // createSecret's journal: only tags named keyup:pending:*, on this secret.
            Sid: "JournalOnThisSecret",
            Effect: "Allow",
            Action: ["secretsmanager:TagResource", "secretsmanager:UntagResource"],
            Resource: { Ref: Match.stringLikeRegexp("Secret") },
            Condition: { "ForAllValues:StringLike": { "aws:TagKeys": ["keyup:pending:*"] } },
          },
          {
            Sid: "WriteItsOwnLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("Logs"), "Arn"] },
          },
        ],
      },
    });
    created.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: { Statement: [{ Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" } }] },
      ManagedPolicyArns: Match.absent(),
    });
    // The function waits for its role's policy (and names the role only through GetAtt, no DependsOn: W3005).
    created.hasResource("AWS::Lambda::Function", { DependsOn: [Match.stringLikeRegexp("RoleDefaultPolicy")] });
    const all = actions(created);
    expect(all.length).toBeGreaterThan(0);
    expect(all.filter((a) => a.includes("*"))).toEqual([]);
    expect(all.filter((a) => a.startsWith("iam:"))).toEqual([
      "iam:ListAccessKeys",
      "iam:CreateAccessKey",
      "iam:UpdateAccessKey",
      "iam:DeleteAccessKey",
      "iam:GetAccessKeyLastUsed",
    ]);
  });

  test("the user may manage its own access keys, on its own ARN only", () => {
    created.hasResourceProperties("AWS::IAM::Policy", {
      Users: [{ Ref: Match.stringLikeRegexp("Deployer") }],
      PolicyDocument: {
        Statement: [
          {
            Sid: "ManageOwnAccessKeys",
            Effect: "Allow",
            Action: ["iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:GetAccessKeyLastUsed"],
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("Deployer"), "Arn"] },
          },
        ],
      },
    });
  });

  test("the synthesized templates are cfn-lint clean: no error, warning or informational finding", async () => {
    const createdPath = join(dir, "created.json");
    const adoptedPath = join(dir, "adopted.json");
    await writeFile(createdPath, JSON.stringify(created.toJSON()));
    await writeFile(adoptedPath, JSON.stringify(adopted.toJSON()));
    expect(cfnLint(createdPath, adoptedPath)).toEqual({ status: 0, output: "" });
  }, 60_000);
});

describe("RotatedAccessKey adopting a secret", () => {
  test("creates no secret and no key; the role's grant covers the secret's full ARN; ARNs name the partition", () => {
    adopted.resourceCountIs("AWS::SecretsManager::Secret", 0);
    adopted.resourceCountIs("AWS::IAM::AccessKey", 0);
    adopted.hasResourceProperties("AWS::SecretsManager::RotationSchedule", { RotationRules: { ScheduleExpression: "rate(7 days)" } });
    const text = JSON.stringify(adopted.toJSON());
    expect(text).toContain(":secret:app/iam-key-??????");
    expect(text).not.toMatch(/arn:aws:/);
    expect(text).toContain('"arn:",{"Ref":"AWS::Partition"}');
    adopted.hasResourceProperties("AWS::IAM::Policy", {
      Users: ["app"],
      PolicyDocument: { Statement: [Match.objectLike({ Resource: { "Fn::Join": ["", Match.arrayWith([":user/app"])] } })] },
    });
  });
});

describe("RotatedAccessKey's options", () => {
  const stack = () => {
    const s = new Stack(new App());
    return { s, user: new iam.User(s, "U") };
  };

  test.each(["next-rotation", "at-finish", "deactivate-at-finish"] as const)("retireOld %s reaches the handler as KEYUP_RETIRE_OLD", (retireOld) => {
    const { s, user } = stack();
    new RotatedAccessKey(s, "K", { user, schedule: Duration.days(30), retireOld });
    Template.fromStack(s).hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ KEYUP_RETIRE_OLD: retireOld }) },
    });
  });

  test("an unknown retireOld is refused", () => {
    const { s, user } = stack();
    expect(() => new RotatedAccessKey(s, "K", { user, schedule: Duration.days(30), retireOld: "never" as never })).toThrow(
      'retireOld must be "next-rotation", "at-finish" or "deactivate-at-finish", got "never"',
    );
  });

  test("a schedule that is not whole days from 1 to 1000, or a verify timeout over 60 s, is refused", () => {
    const { s, user } = stack();
    expect(() => new RotatedAccessKey(s, "A", { user, schedule: Duration.hours(36) })).toThrow(/whole number of days from 1 to 1000/);
    expect(() => new RotatedAccessKey(s, "B", { user, schedule: Duration.days(1001) })).toThrow(/whole number of days/);
    expect(() => new RotatedAccessKey(s, "C", { user, schedule: Duration.days(30), verifyTimeout: Duration.minutes(2) })).toThrow(/1 to 60 seconds/);
  });
});

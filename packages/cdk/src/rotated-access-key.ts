import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Duration, SecretValue, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { checkRetireOld, RETIRE_OLD_ENV, type RetireOld } from "./retire-old.js";

/**
 * What {@link RotatedAccessKey} needs.
 *
 * @example
 * ```ts
 * const props: RotatedAccessKeyProps = { user, secretName: "ci/deploy-key", schedule: Duration.days(30) };
 * ```
 */
export interface RotatedAccessKeyProps {
  /** The IAM user whose access key rotates. It gets a policy to manage its own keys (and only those). */
  readonly user: iam.IUser;
  /**
   * Adopt an existing secret that already holds the user's current key as JSON
   * (`{"AccessKeyId": …, "SecretAccessKey": …}`, other fields kept). Without it, the construct creates
   * the secret and a first key for the user (see {@link RotatedAccessKeyProps.secretName}).
   */
  readonly secret?: secretsmanager.ISecret;
  /** The name of the secret the construct creates (ignored with `secret`). Default: CloudFormation's. */
  readonly secretName?: string;
  /** How often Secrets Manager rotates: whole days, 1 to 1000 (`rate(N days)`). */
  readonly schedule: Duration;
  /**
   * When the old key is retired. Default `"next-rotation"`: it stays Active under AWSPREVIOUS (for
   * consumers that cached it) until the next rotation retires it, if nothing used it since.
   */
  readonly retireOld?: RetireOld;
  /** How long testSecret retries a new key IAM has not propagated yet. Default 30 s, at most 60 s. */
  readonly verifyTimeout?: Duration;
  /** The Lambda runtime. Default Node.js 24 (`nodejs24.x`); the bundle is built for Node 20 and up. */
  readonly runtime?: lambda.Runtime;
}

// The prebuilt handler bundle. This file is src/rotated-access-key.ts in the repository and
// dist/index.{js,cjs} once built: both sit one folder below the package root, so "../dist/handler"
// names the same folder from either.
const BUNDLE_DIR = fileURLToPath(new URL("../dist/handler", import.meta.url));

/**
 * The folder holding the bundled rotation handler (`index.js`, one self-contained CommonJS file with
 * `@keyup/store-secretsmanager` and the AWS SDK in it), as the construct deploys it.
 *
 * @example
 * ```ts
 * const { handler } = createRequire(import.meta.url)(join(handlerBundleDir(), "index.js"));
 * ```
 */
export function handlerBundleDir(): string {
  return BUNDLE_DIR;
}

/**
 * An IAM user's access key, held in a Secrets Manager secret and rotated on Secrets Manager's own
 * schedule by keyup's rotation handler. Creates (or adopts) the secret, the bundled handler function,
 * its execution role (Secrets Manager on this one secret, its own log group, no IAM permission: the key
 * in the secret signs the IAM calls), a policy letting the user manage its own access keys, the
 * permission for Secrets Manager to invoke the function, and the rotation schedule.
 *
 * When the construct creates the secret, it also creates the user's first key (`AWS::IAM::AccessKey`)
 * to put in it. The first rotation deletes that key, so CloudFormation's record of it goes stale;
 * deleting the stack then only tries to delete a key that is already gone.
 *
 * @example
 * ```ts
 * const user = new iam.User(stack, "Deployer");
 * const key = new RotatedAccessKey(stack, "DeployerKey", { user, secretName: "ci/deployer", schedule: Duration.days(30) });
 * key.secret.grantRead(ciRole);
 * ```
 */
export class RotatedAccessKey extends Construct {
  /** The secret holding the key; consumers read its AWSCURRENT version. */
  readonly secret: secretsmanager.ISecret;
  /** The rotation function Secrets Manager invokes. */
  readonly rotationFunction: lambda.Function;
  /** The function's execution role. */
  readonly role: iam.Role;

  /**
   * @param scope - The stack (or construct) to add the resources to.
   * @param id - The construct's id within `scope`.
   * @param props - The user, the schedule, and optionally the secret to adopt.
   * @throws Error when an option is out of range, `retireOld` is not one of its three values, or the
   * handler bundle has not been built.
   */
  constructor(scope: Construct, id: string, props: RotatedAccessKeyProps) {
    super(scope, id);
    const retireOld = checkRetireOld(props.retireOld ?? "next-rotation");
    const days = scheduleDays(props.schedule);
    const verifyTimeoutMs = (props.verifyTimeout ?? Duration.seconds(30)).toMilliseconds();
    if (verifyTimeoutMs < 1_000 || verifyTimeoutMs > 60_000) throw new Error(`verifyTimeout must be 1 to 60 seconds, got ${verifyTimeoutMs} ms`);
    if (!existsSync(join(BUNDLE_DIR, "index.js"))) {
      throw new Error(`the rotation handler bundle is missing (${BUNDLE_DIR}/index.js): build @keyup/cdk first (pnpm --filter @keyup/cdk build)`);
    }

    this.secret = props.secret ?? this.createSecret(props);
    const stack = Stack.of(this);
    // A secret adopted by name has a partial ARN; Secrets Manager adds six characters to every secret's ARN.
    const secretArn = this.secret.secretFullArn ?? `${this.secret.secretArn}-??????`;

    const logGroup = new logs.LogGroup(this, "Logs", { retention: logs.RetentionDays.ONE_YEAR });
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: "keyup rotation function: stages versions of one secret; IAM calls are signed by the key in the secret",
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: "StageVersionsOfThisSecret",
        actions: [
          "secretsmanager:DescribeSecret",
          "secretsmanager:GetSecretValue",
          // Finds the version a rotation that never finished left behind (it has no label).
          "secretsmanager:ListSecretVersionIds",
          "secretsmanager:PutSecretValue",
          "secretsmanager:UpdateSecretVersionStage",
        ],
        resources: [secretArn],
      }),
    );
    // createSecret's journal: a tag on the secret naming the key it is about to create, removed once
    // the key is stored, so a function killed in between leaves a record the next run cleans up. Only
    // tags of that name: the role cannot change tags that grant access (ABAC).
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: "JournalOnThisSecret",
        actions: ["secretsmanager:TagResource", "secretsmanager:UntagResource"],
        resources: [secretArn],
        conditions: { "ForAllValues:StringLike": { "aws:TagKeys": ["keyup:pending:*"] } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({ sid: "WriteItsOwnLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [logGroup.logGroupArn] }),
    );
    this.secret.encryptionKey?.grant(this.role, "kms:Decrypt", "kms:GenerateDataKey");

    this.rotationFunction = new lambda.Function(this, "Function", {
      description: "keyup Secrets Manager rotation of an IAM user's access key",
      runtime: props.runtime ?? lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: "index.handler",
      code: lambda.Code.fromAsset(BUNDLE_DIR),
      memorySize: 256,
      // One step per invocation: testSecret retries for up to verifyTimeout, and finishSecret retries
      // each of its two IAM calls for up to verifyTimeout; leave room for both.
      timeout: Duration.minutes(3),
      role: this.role,
      logGroup,
      environment: { KEYUP_VERIFY_TIMEOUT_MS: String(verifyTimeoutMs), [RETIRE_OLD_ENV]: retireOld },
    });

    // CDK makes the function depend on the role and on its policy; the role is already a dependency
    // through GetAtt Role.Arn, which cfn-lint reports (W3005). Keep only the policy: the function must
    // not run before its permissions exist.
    const rolePolicy = this.role.node.tryFindChild("DefaultPolicy")?.node.defaultChild as iam.CfnPolicy | undefined;
    if (rolePolicy) (this.rotationFunction.node.defaultChild as lambda.CfnFunction).addOverride("DependsOn", [rolePolicy.logicalId]);

    // Secrets Manager, for this account only, may invoke the function.
    const permission = new lambda.CfnPermission(this, "SecretsManagerInvoke", {
      action: "lambda:InvokeFunction",
      functionName: this.rotationFunction.functionArn,
      principal: "secretsmanager.amazonaws.com",
      sourceAccount: stack.account,
    });

    // The user manages its own access keys, nothing else: the key in the secret signs these calls.
    props.user.attachInlinePolicy(
      new iam.Policy(this, "SelfRotation", {
        statements: [
          new iam.PolicyStatement({
            sid: "ManageOwnAccessKeys",
            // GetAccessKeyLastUsed: before retiring the AWSPREVIOUS key, the handler checks nothing used it.
            actions: ["iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:GetAccessKeyLastUsed"],
            resources: [props.user.userArn],
          }),
        ],
      }),
    );

    // The L1 resource rather than secret.addRotationSchedule(): that one also grants the function
    // secretsmanager:GetRandomPassword on "*", which this rotation does not use.
    const schedule = new secretsmanager.CfnRotationSchedule(this, "Schedule", {
      secretId: this.secret.secretArn,
      rotationLambdaArn: this.rotationFunction.functionArn,
      rotationRules: { scheduleExpression: `rate(${days} ${days === 1 ? "day" : "days"})` },
      // Rotate on the schedule, not at deploy time (`aws secretsmanager rotate-secret` to try it now).
      rotateImmediatelyOnUpdate: false,
    });
    // Secrets Manager checks it may invoke the function when rotation is set, and the first rotation
    // needs the role's permissions.
    schedule.node.addDependency(permission);
    if (rolePolicy) schedule.node.addDependency(rolePolicy);
  }

  private createSecret(props: RotatedAccessKeyProps): secretsmanager.Secret {
    const firstKey = new iam.AccessKey(this, "FirstKey", { user: props.user });
    return new secretsmanager.Secret(this, "Secret", {
      ...(props.secretName !== undefined ? { secretName: props.secretName } : {}),
      description: "An IAM user's access key, rotated by keyup",
      secretObjectValue: {
        AccessKeyId: SecretValue.unsafePlainText(firstKey.accessKeyId),
        SecretAccessKey: firstKey.secretAccessKey,
      },
    });
  }
}

function scheduleDays(schedule: Duration): number {
  const days = schedule.toDays({ integral: false });
  if (!Number.isInteger(days) || days < 1 || days > 1000) {
    throw new Error(`schedule must be a whole number of days from 1 to 1000 (Secrets Manager's rate(N days)), got ${schedule.toHumanString()}`);
  }
  return days;
}

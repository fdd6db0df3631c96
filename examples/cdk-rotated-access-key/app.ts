/**
 * A CDK app deploying keyup's Secrets Manager rotation for one IAM user: the user `ci-deployer`, the
 * secret `ci/deployer` holding its access key, and everything that rotates that key every 30 days.
 *
 *   pnpm --filter @keyup/cdk build       # builds the construct and its handler bundle
 *   cd examples/cdk-rotated-access-key && npx aws-cdk@2 deploy
 */
import { fileURLToPath } from "node:url";
import { RotatedAccessKey } from "@keyup/cdk";
import { App, CfnOutput, Duration, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";

/**
 * Adds the example's stack to `app`: one user, one rotated key. A second account or user is one more
 * `RotatedAccessKey` (see docs/at-scale.md).
 *
 * @example
 * ```ts
 * const app = new App();
 * rotatedAccessKeyStack(app);
 * app.synth();
 * ```
 */
export function rotatedAccessKeyStack(app: App): Stack {
  const stack = new Stack(app, "KeyupRotatedAccessKey", { description: "An IAM user's access key, rotated by keyup every 30 days" });
  const user = new iam.User(stack, "Deployer", { userName: "ci-deployer" });
  const key = new RotatedAccessKey(stack, "DeployerKey", {
    user,
    secretName: "ci/deployer",
    schedule: Duration.days(30),
    // The only policy the handler implements today: the old key is deactivated and deleted in finishSecret.
    retireOld: "at-finish",
  });
  // Whoever uses the key reads the secret's AWSCURRENT version: grant that with key.secret.grantRead(…).
  new CfnOutput(stack, "SecretArn", { value: key.secret.secretArn });
  new CfnOutput(stack, "RotationFunction", { value: key.rotationFunction.functionName });
  return stack;
}

// `cdk synth` / `cdk deploy` run this file (cdk.json); importing it (the test does) synthesizes nothing.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const app = new App();
  rotatedAccessKeyStack(app);
  app.synth();
}

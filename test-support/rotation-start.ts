import { randomUUID } from "node:crypto";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateFunctionCommand, GetFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { RotateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { EmulatorKey } from "./emulator.js";

/** The name of the stand-in rotation function moto's RotateSecret is pointed at. */
const FUNCTION_NAME = "keyup-rotation-stand-in";

/** Any request is accepted while auth is off; these sign the calls when no credentials are given. */
const BOOTSTRAP: EmulatorKey = { accessKeyId: "AKIAKEYUPBOOTSTRAP01", secretAccessKey: "bootstrap-only-while-auth-is-off" };

/**
 * Starts a rotation of `secretId` on moto the way Secrets Manager starts one on AWS, and returns its
 * token: RotateSecret turns rotation on (DescribeSecret's RotationEnabled) and labels a new, empty
 * version with the token AWSPENDING. The test then invokes keyup's handler with that token, as
 * Secrets Manager invokes the rotation function.
 *
 * moto's RotateSecret insists on a Lambda function it knows and invokes it; with moto's Docker-free
 * Lambda (config `lambda.use_docker: false`) that invocation does nothing, so the steps run only when
 * the test invokes the handler. `credentials` sign the calls once moto enforces auth (an admin's key).
 */
export async function startMotoRotation(url: string, secretId: string, credentials: EmulatorKey = BOOTSTRAP): Promise<string> {
  const res = await fetch(`${url}/moto-api/config`, { method: "POST", body: JSON.stringify({ lambda: { use_docker: false } }) });
  if (!res.ok) throw new Error(`moto /moto-api/config answered ${res.status}`);
  const config = { region: "us-east-1", endpoint: url, credentials, maxAttempts: 1 };
  const lambda = new LambdaClient(config);
  let functionArn = await lambda.send(new GetFunctionCommand({ FunctionName: FUNCTION_NAME })).then(
    (out) => out.Configuration?.FunctionArn,
    () => undefined,
  );
  if (!functionArn) {
    const role = await new IAMClient(config).send(
      new CreateRoleCommand({
        RoleName: `${FUNCTION_NAME}-role`,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
      }),
    );
    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: FUNCTION_NAME,
        Role: role.Role?.Arn ?? "",
        Runtime: "nodejs22.x",
        Handler: "index.handler",
        // An empty zip archive: moto's Docker-free Lambda never runs the code.
        Code: { ZipFile: new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)]) },
      }),
    );
    functionArn = created.FunctionArn ?? "";
  }
  const token = randomUUID();
  await new SecretsManagerClient(config).send(
    new RotateSecretCommand({ SecretId: secretId, ClientRequestToken: token, RotationLambdaARN: functionArn, RotationRules: { AutomaticallyAfterDays: 30 } }),
  );
  return token;
}

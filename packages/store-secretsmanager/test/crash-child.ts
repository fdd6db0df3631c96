// A stand-in for the rotation Lambda, run as its own process by rotation-handler-crash.int.test.ts (and,
// through the realism proxy, test-support/realism/typical-aws-lambda.int.test.ts) so the test can
// SIGKILL it after any AWS call. It runs the steps the plan names, in order, with a Lambda
// context whose deadline is `remainingMs` away, and prints one JSON line per step (error codes and
// messages, which never hold a secret). The role's key comes in the environment, never in argv.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createRotationHandler, type RetireOldPolicy, type SecretsManagerRotationStep } from "@keyup/store-secretsmanager";

interface Plan {
  readonly secretId: string;
  readonly token: string;
  readonly steps: readonly SecretsManagerRotationStep[];
  readonly endpoint: string;
  readonly retireOld: RetireOldPolicy;
  readonly remainingMs: number;
  /** How long verify waits for the new key; 5 s on bare moto (keys work at once), longer under a realism profile. */
  readonly verifyTimeoutMs?: number;
}

const plan = JSON.parse(process.env.KEYUP_CRASH_PLAN ?? "{}") as Plan;
const credentials = { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "" };
const handler = createRotationHandler({
  client: new SecretsManagerClient({ region: "us-east-1", endpoint: plan.endpoint, credentials, maxAttempts: 1 }),
  region: "us-east-1",
  endpoint: plan.endpoint,
  retireOld: plan.retireOld,
  verifyTimeoutMs: plan.verifyTimeoutMs ?? 5_000,
  log: () => undefined,
});
const deadline = Date.now() + plan.remainingMs;
const context = { getRemainingTimeInMillis: () => deadline - Date.now() };

for (const step of plan.steps) {
  try {
    await handler({ SecretId: plan.secretId, ClientRequestToken: plan.token, Step: step }, context);
    console.log(JSON.stringify({ step, ok: true }));
  } catch (error) {
    console.log(JSON.stringify({ step, ok: false, code: (error as { code?: string }).code, message: (error as Error).message }));
    process.exit(1);
  }
}

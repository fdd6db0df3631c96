/**
 * Invoke the rotation handler on this machine the way Secrets Manager invokes the deployed function:
 * the four steps in order, with the secret's id and the token of a rotation that was started (by
 * RotateSecret, which labels that token's version AWSPENDING: the handler refuses any other token).
 * Each step's log line (key ids, never secrets) goes to stdout; a failed step stops the run with exit
 * code 1. `pnpm example secretsmanager-rotation-lambda` starts the rotation on the emulator and runs this.
 *
 *   KEYUP_SECRET_ID=app/iam-key KEYUP_ROTATION_TOKEN=<RotateSecret's VersionId> pnpm --filter @keyup/examples exec tsx secretsmanager-rotation-lambda/invoke-locally.ts
 *
 * Reads: KEYUP_SECRET_ID and KEYUP_ROTATION_TOKEN (required), and what the Lambda runtime would provide:
 * AWS_REGION and the function role's credentials (the SDK's default chain); AWS_ENDPOINT_URL for a local
 * emulator; KEYUP_VERIFY_TIMEOUT_MS and KEYUP_USER_NAME as index.ts documents.
 */
import { handler } from "./index.js";

const secretId = process.env.KEYUP_SECRET_ID;
if (!secretId) {
  console.error("KEYUP_SECRET_ID is not set: name the secret whose key should rotate");
  process.exit(1);
}
// Secrets Manager uses one token per rotation; it becomes the id of the secret's new version.
const token = process.env.KEYUP_ROTATION_TOKEN;
if (!token) {
  console.error("KEYUP_ROTATION_TOKEN is not set: start a rotation (RotateSecret) and pass the VersionId it returns");
  process.exit(1);
}
for (const step of ["createSecret", "setSecret", "testSecret", "finishSecret"] as const) {
  try {
    await handler({ SecretId: secretId, ClientRequestToken: token, Step: step });
  } catch (error) {
    // The handler's errors name key ids and what to do, never a secret.
    console.error(`${step} failed (${(error as { code?: string }).code ?? "error"}): ${(error as Error).message}`);
    process.exit(1);
  }
}
console.log(`rotated ${secretId}: its AWSCURRENT version is now ${token}`);

/**
 * Invoke the rotation handler on this machine the way Secrets Manager invokes the deployed function:
 * the four steps in order, with the secret's id and one fresh token for the whole rotation. Each step's
 * log line (key ids, never secrets) goes to stdout; a failed step stops the run with exit code 1.
 *
 *   KEYUP_SECRET_ID=app/iam-key pnpm --filter @keyup/examples exec tsx secretsmanager-rotation-lambda/invoke-locally.ts
 *
 * Reads: KEYUP_SECRET_ID (required: the secret's name or ARN), and what the Lambda runtime would provide:
 * AWS_REGION and the function role's credentials (the SDK's default chain); AWS_ENDPOINT_URL for a local
 * emulator; KEYUP_VERIFY_TIMEOUT_MS and KEYUP_USER_NAME as index.ts documents.
 */
import { randomUUID } from "node:crypto";
import { handler } from "./index.js";

const secretId = process.env.KEYUP_SECRET_ID;
if (!secretId) {
  console.error("KEYUP_SECRET_ID is not set: name the secret whose key should rotate");
  process.exit(1);
}

// Secrets Manager uses one token per rotation; it becomes the id of the secret's new version.
const token = randomUUID();
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

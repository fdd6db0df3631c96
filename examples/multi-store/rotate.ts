/**
 * Rotate one IAM user's access key everywhere it is kept, in one rotation: a credentials-file profile,
 * a `.env` file and a Secrets Manager secret receive the same new key, it is proven to work, and only
 * then is the old key retired. If any install fails, all three are put back and the new key deleted.
 * Progress goes to stdout, failures to stderr with exit code 1; no secret is ever printed.
 *
 *   KEYUP_PROFILE=app KEYUP_ENV_FILE=.env KEYUP_SECRET_ID=app/aws-key pnpm --filter @keyup/examples exec tsx multi-store/rotate.ts
 *
 * Reads: KEYUP_PROFILE (default "default"), AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials),
 * KEYUP_ENV_FILE (default ".env"), KEYUP_SECRET_ID (required: the secret's name or ARN),
 * AWS_ENDPOINT_URL (optional, for a local emulator), AWS_REGION.
 */
import { type CredentialStore, rotate } from "@keyup/core";
import { envStore } from "@keyup/store-env";
import { iniStore } from "@keyup/store-ini";
import { secretsManagerStore } from "@keyup/store-secretsmanager";

const env = process.env;
const endpoint = env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {};

/** The three stores, or why they cannot be built (a missing setting, a path that is not a file). */
function storesFromEnv(): CredentialStore[] | string {
  if (!env.KEYUP_SECRET_ID) return "KEYUP_SECRET_ID is not set: name the Secrets Manager secret that holds the key";
  try {
    const profile = iniStore({ profile: env.KEYUP_PROFILE ?? "default" });
    const dotenv = envStore({ path: env.KEYUP_ENV_FILE ?? ".env" });
    // The secret is read and written as the user whose key rotates, with the key the profile holds at
    // each call: one identity is enough for the job, and the secret's lock is still released after the
    // old key is gone, because by then the profile holds the new one.
    const secret = secretsManagerStore({
      secretId: env.KEYUP_SECRET_ID,
      ...endpoint,
      credentials: async () => {
        const key = await profile.read();
        if (!key) throw new Error(`${profile.name} holds no key to sign the Secrets Manager calls with`);
        return key;
      },
    });
    return [profile, dotenv, secret];
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const stores = storesFromEnv();
if (typeof stores === "string") {
  console.error(`cannot start: ${stores}`);
  process.exit(1);
}

console.log(`rotating one key held by: ${stores.map((s) => s.name).join(", ")}`);
const result = await rotate({
  stores,
  ...endpoint,
  onEvent: (event) => {
    if (event.type === "step") console.log(`${event.step.step}: ${event.step.status}${event.step.detail ? ` (${event.step.detail})` : ""}`);
  },
});

result.match(
  (report) => {
    console.log(
      `rotated ${report.userName}: ${report.oldAccessKeyId} -> ${report.newAccessKeyId} in ${report.durationMs} ms, installed into ${stores.length} stores`,
    );
    for (const warning of report.warnings) console.warn(`warning: ${warning}`);
  },
  (error) => {
    console.error(`rotation failed (${error.kind}): ${error.message}`);
    for (const step of error.report?.manualSteps ?? []) console.error(`  to finish by hand: ${step}`);
    process.exitCode = 1;
  },
);

import { createRotationHandler } from "@keyup/store-secretsmanager";
import { checkRetireOld, RETIRE_OLD_ENV } from "../retire-old.js";

const env = process.env;

// Refuse a retire policy the handler does not implement when the function starts, not mid-rotation.
checkRetireOld(env[RETIRE_OLD_ENV] ?? "at-finish");

/**
 * The rotation Lambda `RotatedAccessKey` deploys (bundled into dist/handler/index.js with everything
 * it imports, AWS SDK included). Settings come from the function's environment, which the construct sets:
 * - `KEYUP_VERIFY_TIMEOUT_MS`: how long testSecret retries a new key IAM has not propagated yet;
 * - `KEYUP_RETIRE_OLD`: when the old key is retired (only `at-finish` today, checked at start);
 * - `KEYUP_USER_NAME`: the IAM user, if STS should not be asked.
 *
 * @example
 * ```ts
 * await handler({ SecretId: secretArn, ClientRequestToken: token, Step: "createSecret" });
 * ```
 */
export const handler = createRotationHandler({
  ...(env.KEYUP_VERIFY_TIMEOUT_MS ? { verifyTimeoutMs: Number(env.KEYUP_VERIFY_TIMEOUT_MS) } : {}),
  ...(env.KEYUP_USER_NAME ? { userName: env.KEYUP_USER_NAME } : {}),
});

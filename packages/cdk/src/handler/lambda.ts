import { createRotationHandler } from "@keyup/store-secretsmanager";
import { checkRetireOld, RETIRE_OLD_ENV } from "../retire-old.js";

const env = process.env;

// Refuse an unknown retire policy when the function starts, not mid-rotation.
const retireOld = checkRetireOld(env[RETIRE_OLD_ENV] ?? "next-rotation");

/**
 * The rotation Lambda `RotatedAccessKey` deploys (bundled into dist/handler/index.js with everything
 * it imports, AWS SDK included). Settings come from the function's environment, which the construct sets:
 * - `KEYUP_VERIFY_TIMEOUT_MS`: how long testSecret retries a new key IAM has not propagated yet;
 * - `KEYUP_RETIRE_OLD`: when the old key is retired (`next-rotation`, `at-finish` or
 *   `deactivate-at-finish`, checked at start);
 * - `KEYUP_USER_NAME`: the IAM user, if STS should not be asked.
 *
 * @example
 * ```ts
 * await handler({ SecretId: secretArn, ClientRequestToken: token, Step: "createSecret" });
 * ```
 */
export const handler = createRotationHandler({
  retireOld,
  ...(env.KEYUP_VERIFY_TIMEOUT_MS ? { verifyTimeoutMs: Number(env.KEYUP_VERIFY_TIMEOUT_MS) } : {}),
  ...(env.KEYUP_USER_NAME ? { userName: env.KEYUP_USER_NAME } : {}),
});

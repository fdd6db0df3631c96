import { createRotationHandler, type RetireOldPolicy } from "@keyup/store-secretsmanager";

const env = process.env;

/**
 * The rotation Lambda's entry point (`index.handler` in template.yaml). Secrets Manager invokes it with
 * `{ SecretId, ClientRequestToken, Step }` four times per rotation. Secrets Manager calls are signed by
 * the function's execution role; IAM calls by the key in the secret itself, so the role needs no IAM
 * permission. Settings come from the function's environment:
 * - `KEYUP_VERIFY_TIMEOUT_MS`: how long testSecret retries a new key IAM has not propagated yet (default 30000).
 * - `KEYUP_USER_NAME`: the IAM user, if STS should not be asked (default: the user the current key belongs to).
 * - `KEYUP_RETIRE_OLD`: when the replaced key is retired: `next-rotation` (default), `at-finish` or
 *   `deactivate-at-finish`; any other value makes the function fail at start.
 *
 * @example
 * ```ts
 * import { handler } from "./index.js";
 *
 * // After RotateSecret started a rotation whose token (its VersionId) is `token`:
 * await handler({ SecretId: secretArn, ClientRequestToken: token, Step: "createSecret" });
 * ```
 */
export const handler = createRotationHandler({
  ...(env.KEYUP_VERIFY_TIMEOUT_MS ? { verifyTimeoutMs: Number(env.KEYUP_VERIFY_TIMEOUT_MS) } : {}),
  ...(env.KEYUP_USER_NAME ? { userName: env.KEYUP_USER_NAME } : {}),
  ...(env.KEYUP_RETIRE_OLD ? { retireOld: env.KEYUP_RETIRE_OLD as RetireOldPolicy } : {}),
});

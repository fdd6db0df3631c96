import type { AwsPort, SigningCredentials } from "../aws-port.js";
import { awsErrorName } from "../errors.js";
import { parseIdentityArn } from "../machine/arn.js";
import type { RotationState } from "../machine/types.js";

// Verify's IAM confirmation. STS may accept a new key seconds before IAM does (rhyeal/aws-rotate-iam-keys
// #81, boto/botocore#3600): a rotation verified on STS alone can delete the old key while IAM still
// refuses the new one. So the last of the K consecutive successes also asks IAM, signed by the new key.

/** Names AWS gives a request it authenticated but did not authorize. */
const DENIED = new Set(["AccessDenied", "AccessDeniedException"]);

/**
 * True when `name` is a permission refusal (the key is known, the policy does not allow the call).
 *
 * @example
 * ```ts
 * isAccessDenied("AccessDenied"); // true
 * isAccessDenied("InvalidClientTokenId"); // false: an unknown (not yet propagated) key
 * ```
 */
export function isAccessDenied(name: string): boolean {
  return DENIED.has(name);
}

/** True when the verify success about to be counted is the last one needed: that one must include IAM. */
export function confirmsOnIam(state: RotationState): boolean {
  return state.consecutiveSuccesses + 1 >= state.config.requiredSuccesses;
}

/**
 * Calls IAM ListAccessKeys on the key's own user, signed by the new key (`arn` is what STS said the
 * key is). A refusal is thrown with `operation: "ListAccessKeys"` so the failure names the IAM call.
 * With caller-given credentials the new key signs nothing else on IAM and needs no IAM permission:
 * there an `AccessDenied` proves what verify asks (AWS authenticates a request before it authorizes
 * it; an unknown key gets `InvalidClientTokenId`), so it counts as accepted.
 */
export async function confirmOnIam(aws: AwsPort, state: RotationState, arn: string, key: SigningCredentials): Promise<void> {
  const identity = parseIdentityArn(arn);
  // A key of another identity is reported by the machine's identity check, not as an IAM refusal.
  if (identity.type !== "user") return;
  try {
    await aws.listAccessKeys(identity.name, key);
  } catch (error) {
    const code = awsErrorName(error);
    if (state.config.iamSigner === "credentials" && isAccessDenied(code)) return;
    const message = typeof (error as { message?: unknown })?.message === "string" ? (error as { message: string }).message : String(error);
    throw Object.assign(new Error(message), { name: code, operation: "ListAccessKeys", arn, cause: error });
  }
}

/**
 * The policy statement that lets a user list its own keys, for the user `arn` names: what a rotation
 * whose new key was refused with `AccessDenied` on ListAccessKeys needs.
 *
 * @example
 * ```ts
 * listOwnKeysStatement("arn:aws:iam::123456789012:user/ci-bot");
 * // '{"Effect":"Allow","Action":"iam:ListAccessKeys","Resource":"arn:aws:iam::123456789012:user/${aws:username}"}'
 * ```
 */
export function listOwnKeysStatement(arn: string | undefined): string {
  // The partition and account of the user's ARN, so the line can be pasted as it is.
  const match = /^arn:(aws[a-z-]*):iam::(\d{12}):/.exec(arn ?? "");
  const partition = match?.[1] ?? "aws";
  const account = match?.[2] ?? "<account>";
  return `{"Effect":"Allow","Action":"iam:ListAccessKeys","Resource":"arn:${partition}:iam::${account}:user/\${aws:username}"}`;
}

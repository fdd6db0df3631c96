import { err, ok, type Result, ResultAsync } from "neverthrow";
import { type AwsOptions, type AwsPort, createAwsPort, type SigningCredentials } from "../aws-port.js";
import type { CredentialStore } from "../credential-store.js";
import { type KeyupError, toAwsError } from "../errors.js";
import { parseIdentityArn } from "../machine/arn.js";
import { defaultRotationConfig } from "../machine/types.js";
import { readStoreKey } from "./options.js";
import { checkMfaCode, describeOptionProblem } from "./rotate-options.js";
import { sessionSecondsFor } from "./session-budget.js";

/**
 * Opens a GetSessionToken session (15 minutes unless `durationSeconds` says) signed by `key` with the device's current code: the one
 * place MFA codes are read and checked, for rotate(), listKeys(), cleanup() and openMfaSession().
 */
export async function openSession(
  aws: AwsPort,
  key: SigningCredentials,
  mfa: { readonly serialNumber: string; readonly tokenCode: () => Promise<string> },
  durationSeconds = 900,
): Promise<Result<SigningCredentials, KeyupError>> {
  let code: string;
  try {
    code = String(await mfa.tokenCode()).trim();
  } catch (error) {
    return err({ kind: "config", message: `no MFA code: ${error instanceof Error ? error.message : String(error)}`, cause: error });
  }
  const problem = checkMfaCode(code);
  if (problem) return err({ kind: "config", message: describeOptionProblem(problem) });
  return call("GetSessionToken", () => aws.getSessionToken(key, { serialNumber: mfa.serialNumber, tokenCode: code }, durationSeconds));
}

/** Runs one AWS call, its failure turned into a typed `aws` error. */
export function call<T>(operation: string, fn: () => Promise<T>): ResultAsync<T, KeyupError> {
  return ResultAsync.fromThrowable(fn, (e) => toAwsError(operation, e))();
}

/**
 * What {@link userContext} needs: the part of listKeys()'s and cleanup()'s options that says who signs
 * and whose keys. Declared here, not imported from list-keys.ts, so the two modules do not import
 * each other.
 */
export interface UserContextOptions extends AwsOptions {
  readonly store?: CredentialStore;
  readonly userName?: string;
  readonly aws?: AwsPort;
  readonly mfa?: { readonly serialNumber: string; readonly tokenCode: () => Promise<string> };
  /** Sizes an MFA session for a rotation with this verify timeout (default 30 s). */
  readonly verifyTimeoutMs?: number;
}

/**
 * Who is asking and about whom: the signing credentials (the store's key, caller credentials, or an MFA
 * session opened with the store's key), the key the store holds, and the IAM user.
 */
export async function userContext(
  options: UserContextOptions,
  resolveUser = true,
): Promise<Result<{ aws: AwsPort; signer: SigningCredentials; held: SigningCredentials | undefined; userName: string }, KeyupError>> {
  const aws = options.aws ?? createAwsPort(options);
  let held: SigningCredentials | undefined;
  if (options.store) {
    const read = await readStoreKey(options.store);
    if (read.isErr()) return err(read.error);
    held = read.value;
  }
  let signer = options.credentials ?? held;
  if (!signer) return err({ kind: "config", message: "listKeys needs a store or credentials" });
  if (options.mfa) {
    const session = await openSession(
      aws,
      signer,
      options.mfa,
      sessionSecondsFor({ verifyTimeoutMs: options.verifyTimeoutMs ?? defaultRotationConfig.verifyTimeoutMs }),
    );
    if (session.isErr()) return err(session.error);
    signer = session.value;
  }
  if (!resolveUser) return ok({ aws, signer, held, userName: options.userName ?? "" });
  let userName = options.userName;
  if (!userName) {
    const identity = await call("GetCallerIdentity", () => aws.getCallerIdentity(signer as SigningCredentials));
    if (identity.isErr()) return err(identity.error);
    const parsed = parseIdentityArn(identity.value.arn);
    if (parsed.type !== "user")
      return err({ kind: "config", message: `the key belongs to ${identity.value.arn}, not an IAM user: only IAM users have access keys` });
    userName = parsed.name;
  }
  return ok({ aws, signer, held, userName });
}

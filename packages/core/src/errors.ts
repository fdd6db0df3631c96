import type { RotationReport } from "./report.js";

/**
 * Every error keyup's public API returns: a discriminated union on `kind`. Each has a message a person
 * can act on, and the original `cause` where there is one. None ever contains a secret.
 *
 * @example
 * ```ts
 * const result = await listKeys({ store });
 * if (result.isErr()) {
 *   switch (result.error.kind) {
 *     case "aws": console.error(result.error.code, result.error.message); break;
 *     case "store": console.error(result.error.message); break;
 *     default: console.error(result.error.message);
 *   }
 * }
 * ```
 */
export type KeyupError =
  | ConfigError
  | AwsError
  | StoreError
  | LockError
  | VerifyError
  | LimitError
  | RollbackFailedError
  | JournalError
  | AbortedError
  | InternalError;

/**
 * Bad or missing options, or an identity keyup must not rotate (root, an assumed role).
 *
 * @example
 * ```ts
 * const e: ConfigError = { kind: "config", message: "store holds root credentials: rotate an IAM user's key instead" };
 * ```
 */
export interface ConfigError {
  readonly kind: "config";
  readonly message: string;
  readonly cause?: unknown;
}

/**
 * A keyup bug: something the machine or a shell never expects (an event in the wrong phase, a run
 * that ended without an outcome). Not the caller's fault; please report it.
 *
 * @example
 * ```ts
 * const e: InternalError = { kind: "internal", message: "keyup bug: event installed in phase verifying" };
 * ```
 */
export interface InternalError {
  readonly kind: "internal";
  readonly message: string;
  readonly cause?: unknown;
}

/**
 * An AWS API call failed. `code` is the AWS error name (`AccessDenied`, `LimitExceeded`, …).
 *
 * @example
 * ```ts
 * const e: AwsError = { kind: "aws", operation: "CreateAccessKey", code: "AccessDenied", message: "…" };
 * ```
 */
export interface AwsError {
  readonly kind: "aws";
  /** The API operation, such as `ListAccessKeys`. */
  readonly operation: string;
  /** The AWS error name, or `NetworkError` when no response arrived. */
  readonly code: string;
  readonly message: string;
  readonly cause?: unknown;
}

/**
 * A credential store failed: missing file or profile, unsupported content, I/O error.
 *
 * @example
 * ```ts
 * const e: StoreError = { kind: "store", store: "ini:~/.aws/credentials#ci", code: "ENOTFOUND", message: "…" };
 * ```
 */
export interface StoreError {
  readonly kind: "store";
  /** The store's printable name. */
  readonly store: string;
  /** The store's error code (`ENOTFOUND`, `EUNSUPPORTED`, `EINVALID`, `EIO`, …). */
  readonly code: string;
  readonly message: string;
  readonly cause?: unknown;
}

/**
 * Another rotation holds the store's lock.
 *
 * @example
 * ```ts
 * const e: LockError = { kind: "lock", store: "ini:…", holder: "pid 4242", message: "…" };
 * ```
 */
export interface LockError {
  readonly kind: "lock";
  readonly store: string;
  /** Who holds the lock, when the store knows. */
  readonly holder?: string;
  readonly message: string;
  readonly cause?: unknown;
}

/**
 * The new key could not be proven to work before the verify timeout; it was rolled back.
 *
 * @example
 * ```ts
 * const e: VerifyError = { kind: "verify", message: "new key … still rejected after 30 s", attempts: 12 };
 * ```
 */
export interface VerifyError {
  readonly kind: "verify";
  readonly message: string;
  /** How many GetCallerIdentity calls were made with the new key. */
  readonly attempts: number;
  readonly cause?: unknown;
}

/**
 * The user already has two access keys (IAM's limit); nothing was created.
 *
 * @example
 * ```ts
 * const e: LimitError = { kind: "limit", message: "…", keys: [{ accessKeyId: "AKIA1", status: "Active" }, { accessKeyId: "AKIA2", status: "Inactive" }] };
 * ```
 */
export interface LimitError {
  readonly kind: "limit";
  readonly message: string;
  readonly keys: readonly { readonly accessKeyId: string; readonly status: string }[];
  readonly cause?: unknown;
}

/**
 * A rollback step itself failed. The report says exactly what is left and how to finish by hand.
 *
 * @example
 * ```ts
 * if (e.kind === "rollback-failed") console.error(e.report.manualSteps.join("\n"));
 * ```
 */
export interface RollbackFailedError {
  readonly kind: "rollback-failed";
  readonly message: string;
  readonly report: RotationReport;
  readonly cause?: unknown;
}

/**
 * The rotation journal could not be read or written, is damaged, belongs to another OS user or
 * another store, or points at an IAM user or key that no longer exists. The journal is never
 * discarded silently: it may hold the only copy of a new secret.
 *
 * @example
 * ```ts
 * if (e.kind === "journal") console.error(`see ${e.location}: ${e.message}`);
 * ```
 */
export interface JournalError {
  readonly kind: "journal";
  /** Where the journal is. */
  readonly location: string;
  readonly message: string;
  readonly cause?: unknown;
}

/**
 * The caller's `AbortSignal` fired; whatever was started has been rolled back.
 *
 * @example
 * ```ts
 * const e: AbortedError = { kind: "aborted", message: "rotation aborted before a key was created" };
 * ```
 */
export interface AbortedError {
  readonly kind: "aborted";
  readonly message: string;
  readonly cause?: unknown;
}

/**
 * The error `rotate()` returns: any {@link KeyupError}, with the rotation's report attached whenever
 * the rotation got as far as looking at IAM, so callers can see what was done and undone.
 *
 * @example
 * ```ts
 * const result = await rotate({ store });
 * if (result.isErr() && result.error.report) console.error(result.error.report.outcome);
 * ```
 */
export type RotationError = KeyupError & { readonly report?: RotationReport };

/** AWS error names that mean "this key is not (yet) known everywhere": retried during verify. */
const TRANSIENT_AUTH = new Set([
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "AccessDeniedException",
  "UnrecognizedClientException",
  "AuthFailure",
]);
/** AWS error names that mean "try again later": throttling and server trouble. */
const TRANSIENT_SERVICE = new Set([
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalFailure",
  "InternalError",
  "InternalServerError",
  "ServiceFailure",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "NetworkError",
]);

/**
 * How an AWS error should be treated, judged by its `name` (never by `instanceof`, which breaks
 * across duplicated SDK copies).
 *
 * @example
 * ```ts
 * classifyAwsErrorName("InvalidClientTokenId"); // "transient-auth"
 * classifyAwsErrorName("Throttling");           // "transient-service"
 * classifyAwsErrorName("NoSuchEntity");         // "permanent"
 * ```
 */
export function classifyAwsErrorName(name: string): "transient-auth" | "transient-service" | "permanent" {
  if (TRANSIENT_AUTH.has(name)) return "transient-auth";
  if (TRANSIENT_SERVICE.has(name)) return "transient-service";
  return "permanent";
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_SOCKET"]);

/**
 * The AWS error name of anything the SDK threw: the service's error code, `TimeoutError`, or
 * `NetworkError` for a connection that never got an answer.
 *
 * @example
 * ```ts
 * try { await iam.send(cmd); } catch (e) { awsErrorName(e); } // "NoSuchEntity"
 * ```
 */
export function awsErrorName(error: unknown): string {
  if (typeof error !== "object" || error === null) return "UnknownError";
  const e = error as { name?: unknown; code?: unknown; $metadata?: unknown; Code?: unknown };
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return "NetworkError";
  if (e.name === "TimeoutError" || e.code === "ETIMEDOUT") return "TimeoutError";
  if (typeof e.Code === "string") return e.Code;
  if (typeof e.name === "string" && e.name !== "Error") return e.name;
  return "UnknownError";
}

/**
 * Turns whatever an SDK call threw into an {@link AwsError} whose message says what to do.
 *
 * @example
 * ```ts
 * const error = toAwsError("ListAccessKeys", thrown);
 * console.error(error.message);
 * ```
 */
export function toAwsError(operation: string, cause: unknown): AwsError {
  const code = awsErrorName(cause);
  const detail = typeof (cause as { message?: unknown })?.message === "string" ? (cause as { message: string }).message : String(cause);
  return { kind: "aws", operation, code, message: `${operation} failed: ${code}: ${redact(detail)}${hintFor(code, operation, detail)}`, cause };
}

function hintFor(code: string, operation: string, detail: string): string {
  switch (code) {
    case "AccessDenied":
    case "AccessDeniedException":
      // STS calls need no permission: GetSessionToken is denied when AWS refuses the MFA code itself.
      if (operation === "GetSessionToken") return " (the MFA code was refused: mistyped, already used, or mfa_serial names another device; try the next code)";
      if (operation === "GetCallerIdentity") return "";
      return ` (the signing identity needs iam:${operation} on itself; see docs/security.md)`;
    case "InvalidClientTokenId":
      return " (the access key is not valid: deleted, mistyped, or not yet propagated)";
    case "SignatureDoesNotMatch":
      // AWS's words for a request signed more than 5 minutes off its clock (docs/aws-behaviour.md, section 4).
      if (/Signature expired|Signature not yet current/.test(detail))
        return " (this machine's clock is more than 5 minutes off AWS's: set the time, for example with NTP)";
      return " (the secret access key does not match the key id)";
    case "NetworkError":
      return " (no answer from the endpoint: check the network, --endpoint-url and --region)";
    case "LimitExceeded":
      return " (the user already has two access keys)";
    default:
      return "";
  }
}

/**
 * Removes anything shaped like a secret access key (40 base64 characters) from a message.
 * AWS messages never carry one; this is a second belt for messages we did not write.
 *
 * @example
 * ```ts
 * redact("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY leaked"); // "secret [redacted] leaked"
 * ```
 */
export function redact(text: string): string {
  return text.replace(/(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g, "[redacted]");
}

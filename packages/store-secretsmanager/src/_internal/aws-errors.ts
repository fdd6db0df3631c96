import { awsErrorName, createStoreError, redact, type StoreFailure } from "@keyup/core";

/**
 * A copy of an SDK error that keeps what helps a person (its name, redacted message, HTTP status and
 * request id) and drops the rest, so nothing an SDK attaches can carry a secret into a log.
 */
export function safeCause(error: unknown): Error {
  const name = awsErrorName(error);
  const message = typeof (error as { message?: unknown })?.message === "string" ? (error as Error).message : String(error);
  const copy = new Error(redact(message));
  copy.name = name;
  const metadata = (error as { $metadata?: { httpStatusCode?: number; requestId?: string } })?.$metadata;
  if (metadata) {
    Object.assign(copy, { $metadata: { httpStatusCode: metadata.httpStatusCode, requestId: metadata.requestId } });
  }
  return copy;
}

/** The one-line reason an AWS call failed: error name and redacted message. */
export function describeAwsError(error: unknown): string {
  const name = awsErrorName(error);
  const message = typeof (error as { message?: unknown })?.message === "string" ? (error as Error).message : "";
  return message && message !== name ? `${name}: ${redact(message)}` : name;
}

/** Errors the store throws as they are: already typed, already free of secrets. */
export function isStoreFailure(error: unknown): error is StoreFailure {
  return error instanceof Error && error.name === "StoreError" && typeof (error as { code?: unknown }).code === "string";
}

/**
 * Turns whatever a Secrets Manager call threw into a store error: permission problems get `EACCES`
 * with the action to grant, everything else `EIO`, each naming the secret and the operation.
 */
export function toStoreError(error: unknown, where: string, operation: string): StoreFailure {
  if (isStoreFailure(error)) return error;
  const cause = safeCause(error);
  // A 403 is a refusal even when its body could not be parsed (moto answers in XML, not JSON).
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const name = status === 403 && awsErrorName(error) === "SyntaxError" ? "AccessDeniedException" : awsErrorName(error);
  switch (name) {
    case "AccessDeniedException":
    case "AccessDenied":
      return createStoreError(
        "EACCES",
        `${where}: ${operation} was denied: grant secretsmanager:${operation} on the secret to the identity keyup uses for Secrets Manager`,
        { cause },
      );
    case "DecryptionFailure":
    case "KMSAccessDeniedException":
      return createStoreError("EACCES", `${where}: ${operation} could not use the secret's KMS key (${name}): grant kms:Decrypt / kms:GenerateDataKey on it`, {
        cause,
      });
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "InvalidClientTokenId":
    case "ExpiredTokenException":
      return createStoreError("EACCES", `${where}: ${operation} was refused (${name}): the credentials used for Secrets Manager are not valid`, { cause });
    default:
      return createStoreError("EIO", `${where}: ${operation} failed: ${describeAwsError(error)}`, { cause });
  }
}

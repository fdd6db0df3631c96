import { type KeyupError, type RotationError, type RotationReport, redact } from "@keyup/core";
import type { CliArgs } from "./args.js";
import type { CliIo } from "./cli-io.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { explainProfile } from "./profile-hints.js";
import { renderNextSteps } from "./render-next-steps.js";
import { secretsOnly } from "./stores.js";

/** Prints a usage error and returns exit code 2. */
export function usage(io: CliIo, message: string): ExitCodeValue {
  io.stderr(`keyup: ${oneLine(message)}\n`);
  return ExitCode.Usage;
}

/** Prints a library error on one line and returns the exit code its kind maps to. */
export function failWith(io: CliIo, error: KeyupError | RotationError): ExitCodeValue {
  // One line, as scripts expect: the next steps (in the CLI's words) go at its end.
  const next = renderNextSteps("report" in error ? (error.report?.nextSteps ?? []) : []);
  io.stderr(`keyup: ${error.kind === "config" ? "error" : `${error.kind} error`}: ${oneLine([error.message, ...next].join("; "))}\n`);
  switch (error.kind) {
    case "config":
      return ExitCode.Usage;
    case "store":
      // A missing file or profile, or a profile keyup must not rotate, is a configuration problem.
      return ["ENOTFOUND", "EUNSUPPORTED", "EINVALID"].includes(error.code) ? ExitCode.Usage : ExitCode.Failed;
    case "lock":
      return ExitCode.LockHeld;
    case "rollback-failed":
      return ExitCode.RollbackFailed;
    case "internal":
      return ExitCode.Internal;
    default:
      return ExitCode.Failed;
  }
}

/** One line, with anything that looks like a secret redacted. */
export function oneLine(text: string): string {
  return redact(text.replace(/\s*\r?\n\s*/g, " "));
}

/** The mark printed before a finished step. */
export function markOf(status: string): string {
  return status === "ok" ? "✓" : status === "retry" ? "↻" : status === "failed" ? "✗" : "-";
}

/** The sentence printed after a rotation. */
export function summary(report: RotationReport): string {
  if (report.outcome !== "rotated" && report.outcome !== "completed-with-warnings") return `Rotation ${report.outcome}.`;
  const seconds = (report.durationMs / 1000).toFixed(1);
  const fate = { deleted: "deleted", inactive: "deactivated", active: "left active", unknown: "left as it was" }[report.oldKey];
  return `Rotated ${report.userName}'s key: ${report.oldAccessKeyId} -> ${report.newAccessKeyId} (old key ${fate}) in ${seconds} s, verified with ${report.verifyAttempts} call${report.verifyAttempts === 1 ? "" : "s"}.`;
}

/** A missing profile: says what the AWS config file makes of it (a role, SSO, …), when it knows. */
export async function withProfileHint(args: CliArgs, io: CliIo, error: KeyupError | RotationError): Promise<KeyupError | RotationError> {
  const partition =
    error.kind === "aws" && error.code === "InvalidClientTokenId" ? partitionHint(args.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION) : undefined;
  if (partition) return { ...error, message: `${error.message}. ${partition}` };
  // With only secrets, the profile signs Secrets Manager calls and is not what went missing.
  if (error.kind !== "store" || error.code !== "ENOTFOUND" || secretsOnly(args)) return error;
  const hint = await explainProfile(args.profile, io.env);
  return hint ? { ...error, message: `${error.message}. ${hint}` } : error;
}

/**
 * For a key AWS does not know, when the region belongs to the China or GovCloud partition: keys and
 * endpoints do not cross partitions, so a key made in another partition is refused as unknown.
 *
 * @example
 * ```ts
 * partitionHint("cn-north-1"); // "The region cn-north-1 is in the aws-cn partition: …"
 * partitionHint("eu-west-1");  // undefined
 * ```
 */
export function partitionHint(region: string | undefined): string | undefined {
  const partition = region?.startsWith("cn-") ? "aws-cn" : region?.startsWith("us-gov-") ? "aws-us-gov" : undefined;
  if (!region || !partition) return undefined;
  return `The region ${region} is in the ${partition} partition: access keys do not cross partitions, so the key must belong to an IAM user of an ${partition} account (check --region, AWS_REGION and the profile's region in the config file)`;
}

import { fileJournal } from "@keyup/core";
import type { CliArgs } from "./args.js";

/** The AWS settings every operation passes to the library. */
export function awsOptions(args: CliArgs) {
  return {
    ...(args.endpointUrl ? { endpoint: args.endpointUrl } : {}),
    ...(args.region ? { region: args.region } : {}),
    ...(args.userName ? { userName: args.userName } : {}),
    ...(args.requestTimeoutSeconds !== undefined ? { requestTimeoutMs: Math.round(args.requestTimeoutSeconds * 1000) } : {}),
  };
}

/** The rotation settings the flags ask for, shared by a single rotation and a fleet. */
export function rotationFlags(args: CliArgs) {
  return {
    ...awsOptions(args),
    onLimit: args.deleteInactive ? ("delete-inactive" as const) : ("refuse" as const),
    oldKey: args.oldKey,
    // The CLI guards against retiring a key something still uses; --force skips the check.
    inUseGuard: !args.force,
    ...(args.minAgeMs !== undefined ? { minAgeMs: args.minAgeMs } : {}),
    ...(args.keepOldForMs !== undefined ? { keepOldForMs: args.keepOldForMs } : {}),
    ...(args.description !== undefined ? { description: args.description } : {}),
    ...(args.verifyTimeoutSeconds !== undefined ? { verifyTimeoutMs: args.verifyTimeoutSeconds * 1000 } : {}),
  };
}

/** `--journal FILE`, when given. */
export function journalOption(args: CliArgs) {
  return args.journalFile ? { journal: fileJournal(args.journalFile) } : {};
}

import { cleanup } from "@keyup/core";
import type { CliArgs } from "../args.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import { awsOptions } from "../flags.js";
import { textLines } from "../format.js";
import { mfaCredentials } from "../mfa.js";
import { failWith, usage, withProfileHint } from "../output.js";
import { storeFor } from "../stores.js";

/** `keyup cleanup`: deletes the user's keys whose grace period is over (Active ones only if unused since), and stale tags. */
export async function cleanupCommand(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  const built = await storeFor(args, io);
  if ("error" in built) return usage(io, built.error);
  const session = await mfaCredentials(args, io, built);
  if ("exit" in session) return session.exit;
  const result = await cleanup({
    store: built.store,
    ...awsOptions(args),
    ...(session.credentials ? { credentials: session.credentials } : {}),
    now: io.now?.() ?? new Date(),
  });
  if (result.isErr()) return failWith(io, await withProfileHint(args, io, result.error));
  const { deleted, kept, inUse, removedTags, userName } = result.value;
  if (args.output === "json") io.stdout(`${JSON.stringify(result.value, null, 2)}\n`);
  else if (args.output === "text")
    io.stdout(
      textLines([
        ...deleted.map((id) => ["DELETED", userName, id]),
        ...kept.map((k) => ["KEPT", userName, k.accessKeyId, k.keepUntil.toISOString()]),
        ...inUse.map((k) => ["INUSE", userName, k.accessKeyId, k.lastUsed?.toISOString()]),
      ]),
    );
  else if (!args.quiet && !args.auto) {
    io.stdout(
      deleted.length ? `Deleted ${userName}'s keys past their grace period: ${deleted.join(", ")}\n` : `No key of ${userName} is past its grace period.\n`,
    );
    for (const k of kept) io.stdout(`Kept ${k.accessKeyId} (${k.status}) until ${k.keepUntil.toISOString()}\n`);
    for (const k of inUse)
      io.stdout(
        `Kept ${k.accessKeyId} (Active): used ${k.lastUsed ? `at ${k.lastUsed.toISOString()}` : "at an unknown time"}, after the last rotation: update that consumer, then delete the key by hand\n`,
      );
    if (removedTags.length) io.stdout(`Removed the tags of keys that no longer exist: ${removedTags.join(", ")}\n`);
  }
  return ExitCode.Ok;
}

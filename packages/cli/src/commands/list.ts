import { listKeys } from "@keyup/core";
import type { CliArgs } from "../args.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import { awsOptions } from "../flags.js";
import { formatKeyTable, keysToJson } from "../format.js";
import { mfaCredentials } from "../mfa.js";
import { failWith, usage, withProfileHint } from "../output.js";
import { storeFor } from "../stores.js";

/** `keyup list`: the IAM user's keys, the one the store holds marked. */
export async function listCommand(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  const built = storeFor(args, io);
  if ("error" in built) return usage(io, built.error);
  const { store, label } = built;
  const session = await mfaCredentials(args, io, store);
  if ("exit" in session) return session.exit;
  const result = await listKeys({
    store,
    ...awsOptions(args),
    ...(session.credentials ? { credentials: session.credentials } : {}),
    now: io.now?.() ?? new Date(),
  });
  if (result.isErr()) return failWith(io, await withProfileHint(args, io, result.error));
  if (args.output === "json") io.stdout(`${JSON.stringify(keysToJson(result.value), null, 2)}\n`);
  else io.stdout(`Access keys for ${label}:\n${formatKeyTable(result.value)}\n`);
  return ExitCode.Ok;
}

import { type AccessKeyInfo, listKeys } from "@keyup/core";
import type { CliArgs } from "../args.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import { awsOptions } from "../flags.js";
import { fleetProfiles } from "../fleet-profiles.js";
import { formatKeyTable, keysToJson, keysToText } from "../format.js";
import { mfaCredentials } from "../mfa.js";
import { failWith, usage, withProfileHint } from "../output.js";
import { storeFor } from "../stores.js";

/**
 * `keyup list`: the IAM user's keys, the one the store holds marked. With several `--profile` or
 * `--all-profiles`, each profile in turn, in the order given (or of the file).
 */
export async function listCommand(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  if (!args.allProfiles && args.profiles.length <= 1) {
    const listed = await keysOf(args, io);
    if ("exit" in listed) return listed.exit;
    if (args.output === "json") io.stdout(`${JSON.stringify(keysToJson(listed.keys), null, 2)}\n`);
    else if (args.output === "text") io.stdout(keysToText(listed.keys));
    else io.stdout(`Access keys for ${listed.label}:\n${formatKeyTable(listed.keys, io.now?.() ?? new Date())}\n`);
    return ExitCode.Ok;
  }
  if (args.stores.length > 0) return usage(io, "--store works with one profile; listing several profiles reads the credentials file");
  const selected = await fleetProfiles(args);
  if ("error" in selected) return selected.error.kind === "config" ? usage(io, selected.error.message) : failWith(io, selected.error);
  // One profile's failure (a role, a missing profile) does not hide the others: it is reported, and
  // the exit code is the worst one seen.
  let exit: ExitCodeValue = ExitCode.Ok;
  const json: { profile: string; keys: object[] | null }[] = [];
  for (const profile of selected.profiles) {
    const listed = await keysOf({ ...args, profile, profileGiven: true }, io);
    if ("exit" in listed) {
      exit = Math.max(exit, listed.exit) as ExitCodeValue;
      json.push({ profile, keys: null });
      continue;
    }
    if (args.output === "json") json.push({ profile, keys: keysToJson(listed.keys) });
    else if (args.output === "text") io.stdout(keysToText(listed.keys, profile));
    else io.stdout(`Access keys for ${listed.label}:\n${formatKeyTable(listed.keys, io.now?.() ?? new Date())}\n\n`);
  }
  if (args.output === "json") io.stdout(`${JSON.stringify(json, null, 2)}\n`);
  return exit;
}

async function keysOf(args: CliArgs, io: CliIo): Promise<{ keys: AccessKeyInfo[]; label: string } | { exit: ExitCodeValue }> {
  const built = await storeFor(args, io);
  if ("error" in built) return { exit: usage(io, built.error) };
  const { store, label } = built;
  const session = await mfaCredentials(args, io, built);
  if ("exit" in session) return session;
  const result = await listKeys({
    store,
    ...awsOptions(args),
    ...(session.credentials ? { credentials: session.credentials } : {}),
    now: io.now?.() ?? new Date(),
  });
  if (result.isErr()) return { exit: failWith(io, await withProfileHint(args, io, result.error)) };
  return { keys: result.value, label };
}

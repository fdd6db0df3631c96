import { recover } from "@keyup/core";
import type { CliArgs } from "../args.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import { awsOptions, journalOption } from "../flags.js";
import { mfaCredentials } from "../mfa.js";
import { failWith, markOf, oneLine, summary, usage } from "../output.js";
import { storeFor } from "../stores.js";

/** `keyup recover`: finishes or rolls back an interrupted rotation, and starts no new one. */
export async function recoverCommand(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  const built = await storeFor(args, io);
  if ("error" in built) return usage(io, built.error);
  const { store, label } = built;
  const say = (text: string) => {
    if (!args.auto && args.output === "table") io.stdout(text);
  };
  const session = await mfaCredentials(args, io, built);
  if ("exit" in session) return session.exit;
  const result = await recover({
    store,
    ...awsOptions(args),
    ...(session.credentials ? { credentials: session.credentials } : {}),
    ...journalOption(args),
    ...(io.signal ? { signal: io.signal } : {}),
    onEvent: (event) => {
      if (event.type === "step") say(`  ${markOf(event.step.status)} ${event.step.step}${event.step.detail ? `: ${event.step.detail}` : ""}\n`);
    },
  });
  if (result.isErr()) return failWith(io, result.error);
  if (result.value === null) {
    say(`Nothing to recover for ${label}.\n`);
    return ExitCode.Ok;
  }
  say(`\n${summary(result.value)}\n`);
  for (const warning of result.value.warnings) io.stderr(`keyup: warning: ${oneLine(warning)}\n`);
  return result.value.outcome === "completed-with-warnings" ? ExitCode.CompletedWithWarnings : ExitCode.Ok;
}

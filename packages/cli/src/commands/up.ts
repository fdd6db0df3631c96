import { listKeys, plan, type RotationReport, rotate } from "@keyup/core";
import type { CliArgs } from "../args.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import { awsOptions, journalOption, rotationFlags } from "../flags.js";
import { formatKeyTable, textLines } from "../format.js";
import { cliLogger } from "../logger.js";
import { mfaCredentials } from "../mfa.js";
import { failWith, oneLine, summary, usage, withProfileHint } from "../output.js";
import { printPlan } from "../plan-output.js";
import { createProgress } from "../progress.js";
import { renderNextSteps } from "../render-next-steps.js";
import { storeFor } from "../stores.js";
import { fleetCommand } from "./fleet.js";

/** `keyup up`: rotates the store's key (several profiles: a fleet). */
export async function upCommand(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  if (args.allProfiles || args.profiles.length > 1) return fleetCommand(args, io);
  const built = await storeFor(args, io);
  if ("error" in built) return usage(io, built.error);
  const { store, label } = built;
  const now = io.now ?? (() => new Date());
  const logger = cliLogger(args, io, now);
  const show = !args.auto && !args.quiet && args.output === "table";
  const say = (text: string) => {
    if (show) io.stdout(text);
  };

  // MFA: one session (one code) for the listing before, the rotation and the listing after.
  const session = await mfaCredentials(args, io, built);
  if ("exit" in session) return session.exit;
  const signing = session.credentials ? { credentials: session.credentials } : {};
  const rotateOptions = { store, ...rotationFlags(args), ...signing, ...journalOption(args) };

  if (args.dryRun) {
    const planned = await plan(rotateOptions);
    if (planned.isErr()) return failWith(io, await withProfileHint(args, io, planned.error));
    printPlan(args, io, label, planned.value);
    return ExitCode.Ok;
  }

  // The table below signs calls with the old key: the in-use guard must not take them for a consumer's
  // (moto records a use at once; AWS late). A second of margin for the store's and AWS's clocks.
  let ownUseSince: Date | undefined;
  if (!args.auto) {
    ownUseSince = new Date(Date.now() - 1_000);
    const before = await listKeys({ store, ...awsOptions(args), ...signing, now: now() });
    if (before.isErr()) return failWith(io, await withProfileHint(args, io, before.error));
    say(`Keys before rotation (${label}):\n${formatKeyTable(before.value, now())}\n\n`);
    if (io.interactive && io.ask) {
      const held = before.value.find((k) => k.inStore)?.accessKeyId ?? "the profile's key";
      const fate = args.keepOldForMs !== undefined || args.oldKey === "deactivate" ? "deactivated" : args.oldKey === "keep" ? "kept" : "deleted";
      const answer = (await io.ask(`Rotate ${held}? A new key is created and installed; the old one is ${fate}. [y/N] `)).trim().toLowerCase();
      if (answer !== "y" && answer !== "yes") {
        say("Nothing changed.\n");
        return ExitCode.Ok;
      }
    }
  }

  // The spinner rewrites its line with escape codes: only for a person at a terminal, and never with
  // NO_COLOR (https://no-color.org), which asks for plain output; the step lines stay.
  const progress = createProgress(say, { tty: io.interactive && show && !io.env.NO_COLOR, color: io.color === true });
  const result = await rotate({
    ...rotateOptions,
    ...(ownUseSince ? { ownUseSince } : {}),
    logger,
    ...(io.signal ? { signal: io.signal } : {}),
    onEvent: progress.onEvent,
  });
  progress.stop();

  if (result.isErr()) {
    logger.error(`outcome=${result.error.report?.outcome ?? "failed"} error=${result.error.kind} message=${JSON.stringify(oneLine(result.error.message))}`);
    if (args.output === "json" && !args.auto) io.stdout(`${JSON.stringify(result.error.report ?? null, null, 2)}\n`);
    if (args.output === "text" && !args.auto && result.error.report) io.stdout(reportText(result.error.report));
    return failWith(io, await withProfileHint(args, io, result.error));
  }
  const report = result.value;
  logger.info(`outcome=${report.outcome} user=${report.userName} old=${report.oldAccessKeyId} new=${report.newAccessKeyId ?? "-"} old_key=${report.oldKey}`);
  if (args.output === "json" && !args.auto) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  if (args.output === "text" && !args.auto) io.stdout(reportText(report));
  // The skipped step's own line already said why (for example "AKIA… is 3d old, younger than 90d:
  // nothing to do"); saying it again would only repeat it.
  if (report.outcome === "skipped") return ExitCode.Skipped;
  say(`\n${summary(report)}\n`);
  for (const warning of report.warnings) io.stderr(`keyup: warning: ${oneLine(warning)}\n`);
  for (const step of renderNextSteps(report.nextSteps)) io.stderr(`keyup: to finish by hand: ${step}\n`);

  if (show) {
    const after = await listKeys({ store, ...awsOptions(args), ...signing, now: now() });
    if (after.isOk()) say(`\nKeys after rotation:\n${formatKeyTable(after.value, now())}\n`);
    else io.stderr(`keyup: rotated, but listing the keys afterwards failed: ${oneLine(after.error.message)}\n`);
  }
  return report.outcome === "completed-with-warnings" ? ExitCode.CompletedWithWarnings : ExitCode.Ok;
}

/** The rotation as one `--output text` record: outcome, user, old and new key, what became of the old key, seconds. */
function reportText(report: RotationReport): string {
  return textLines([
    ["ROTATION", report.outcome, report.userName, report.oldAccessKeyId, report.newAccessKeyId, report.oldKey, (report.durationMs / 1000).toFixed(1)],
  ]);
}

import { type CredentialStore, formatFleetTable, plan, type RotationPlan, rotateMany } from "@keyup/core";
import { iniStore } from "@keyup/store-ini";
import type { CliArgs } from "../args.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import { rotationFlags } from "../flags.js";
import { fleetProfiles } from "../fleet-profiles.js";
import { textLines } from "../format.js";
import { cliLogger, profileInLine } from "../logger.js";
import { failWith, oneLine, usage } from "../output.js";
import { printPlan } from "../plan-output.js";

/**
 * Several profiles of one credentials file (`--profile a --profile b`, or `--all-profiles`), rotated a
 * few at a time by `rotateMany()`: one lock for the file, profiles sharing a key rotated once.
 */
export async function fleetCommand(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  if (args.stores.length > 0) return usage(io, "--store works with one profile; a fleet rotates profiles of the credentials file");
  const selected = await fleetProfiles(args);
  if ("error" in selected) return selected.error.kind === "config" ? usage(io, selected.error.message) : failWith(io, selected.error);
  const { path, profiles } = selected;
  let stores: CredentialStore[];
  try {
    stores = profiles.map((profile) => iniStore({ profile, ...(args.credentialsFile ? { path: args.credentialsFile } : {}) }));
  } catch (error) {
    return usage(io, (error as Error).message);
  }
  if (args.dryRun) return dryRun(args, io, stores);
  const now = io.now ?? (() => new Date());
  // Each line names the profile it is about, and each profile ends with one outcome line.
  const logger = cliLogger(args, io, now, profileInLine);
  const show = !args.auto && !args.quiet && args.output === "table";
  const profileOf = (name: string) => name.slice(name.lastIndexOf("#") + 1);
  if (show) io.stdout(`Rotating ${stores.length} ${stores.length === 1 ? "profile" : "profiles"} of ${path}, ${args.concurrency} at a time:\n`);
  const result = await rotateMany({
    stores,
    concurrency: args.concurrency,
    ...rotationFlags(args),
    ...(io.signal ? { signal: io.signal } : {}),
    logger,
    onResult: (r) => {
      if (show)
        io.stdout(
          `  ${r.outcome === "rotated" ? "✓" : r.outcome === "skipped" ? "-" : "✗"} ${profileOf(r.store)}: ${r.outcome}${r.error ? ` (${oneLine(r.error.message)})` : ""}\n`,
        );
    },
  });
  if (result.isErr()) return failWith(io, result.error);
  const report = result.value;
  if (args.output === "json" && !args.auto) io.stdout(`${JSON.stringify(report, (k, v) => (k === "cause" ? undefined : v), 2)}\n`);
  else if (args.output === "text" && !args.auto)
    io.stdout(
      textLines(report.results.map((r) => ["ROTATION", profileOf(r.store), r.outcome, r.report?.oldAccessKeyId, r.report?.newAccessKeyId, r.error?.kind])),
    );
  else if (show) io.stdout(`\n${formatFleetTable(report)}\n`);
  for (const r of report.results) {
    const outcome = `outcome=${r.outcome} store=${r.store} user=${r.userName ?? "-"} old=${r.oldAccessKeyId ?? "-"} new=${r.newAccessKeyId ?? "-"}`;
    if (r.error) logger.error(`${outcome} error=${r.error.kind} message=${JSON.stringify(oneLine(r.error.message))}`);
    else logger.info(outcome);
  }
  logger.info(`fleet profiles=${stores.length} rotated=${report.rotated} warnings=${report.warnings} skipped=${report.skipped} failed=${report.failed}`);
  for (const r of report.results) {
    if (r.error && (args.auto || args.quiet)) io.stderr(`keyup: ${profileOf(r.store)}: ${r.error.kind} error: ${oneLine(r.error.message)}\n`);
    for (const warning of r.report?.warnings ?? []) io.stderr(`keyup: ${profileOf(r.store)}: warning: ${oneLine(warning)}\n`);
  }
  if (report.failed > 0) return ExitCode.Failed;
  if (report.warnings > 0) return ExitCode.CompletedWithWarnings;
  if (report.rotated === 0 && report.skipped > 0) return ExitCode.Skipped;
  return ExitCode.Ok;
}

/**
 * A fleet's dry run: each profile's plan in turn, read-only (plan() takes no lock and writes nothing),
 * so profiles sharing a key each show the rotation that would update them together.
 */
async function dryRun(args: CliArgs, io: CliIo, stores: readonly CredentialStore[]): Promise<ExitCodeValue> {
  let exit: ExitCodeValue = ExitCode.Ok;
  const plans: RotationPlan[] = [];
  for (const store of stores) {
    const planned = await plan({ store, ...rotationFlags(args) });
    if (planned.isErr()) {
      exit = Math.max(exit, failWith(io, planned.error)) as ExitCodeValue;
      continue;
    }
    if (args.output === "json") plans.push(planned.value);
    else printPlan(args, io, store.name, planned.value);
  }
  if (args.output === "json") io.stdout(`${JSON.stringify(plans, null, 2)}\n`);
  return exit;
}

import type { RotationPlan } from "@keyup/core";
import type { CliArgs } from "./args.js";
import type { CliIo } from "./cli-io.js";
import { textLines } from "./format.js";

/** A dry run's plan, in the output format asked for. */
export function printPlan(args: CliArgs, io: CliIo, label: string, p: RotationPlan): void {
  if (args.output === "json") {
    io.stdout(`${JSON.stringify(p, null, 2)}\n`);
  } else if (args.output === "text") {
    io.stdout(
      textLines([["PLAN", p.store, p.outcome, p.userName, p.oldAccessKeyId], ...p.actions.map((a) => ["ACTION", a]), ...p.warnings.map((w) => ["WARNING", w])]),
    );
  } else if (p.outcome === "skipped") {
    io.stdout(`Dry run for ${label}: nothing would change (the key is younger than --if-older-than).\n`);
  } else {
    io.stdout(`Dry run for ${label} (user ${p.userName}, key ${p.oldAccessKeyId}); nothing was changed. keyup would:\n`);
    for (const action of p.actions) io.stdout(`  - ${action}\n`);
    for (const warning of p.warnings) io.stdout(`  ! ${warning}\n`);
  }
}

import { pendingRotations } from "@keyup/core";
import type { CliArgs } from "../args.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import { journalOption } from "../flags.js";
import { textLines } from "../format.js";
import { failWith, usage } from "../output.js";
import { storeFor } from "../stores.js";

/** `keyup status`: shows an unfinished rotation of the store, reading only. */
export async function statusCommand(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  const built = await storeFor(args, io);
  if ("error" in built) return usage(io, built.error);
  const { store, label } = built;
  const result = await pendingRotations({ store, ...journalOption(args) });
  if (result.isErr()) return failWith(io, result.error);
  if (args.output === "text") {
    io.stdout(textLines(result.value.map((p) => ["PENDING", p.id, p.phase, p.userName, p.oldAccessKeyId, p.newAccessKeyId, p.startedAt, p.writer, p.journal])));
    return ExitCode.Ok;
  }
  if (args.output === "json") {
    io.stdout(`${JSON.stringify(result.value, null, 2)}\n`);
    return ExitCode.Ok;
  }
  if (result.value.length === 0) {
    io.stdout(`No unfinished rotation for ${label}.\n`);
    return ExitCode.Ok;
  }
  for (const p of result.value) {
    io.stdout(
      [
        `Unfinished rotation ${p.id} of ${label}:`,
        `  stopped at:  ${p.phase}`,
        `  user:        ${p.userName ?? "(not resolved yet)"}`,
        `  old key:     ${p.oldAccessKeyId ?? "-"}`,
        `  new key:     ${p.newAccessKeyId ?? "-"}${p.holdsNewSecret ? " (its secret is in the journal)" : ""}`,
        `  started:     ${p.startedAt} by ${p.writer}`,
        `  journal:     ${p.journal}`,
        "Run `keyup recover` (or `keyup up`) to finish or roll it back.",
        "",
      ].join("\n"),
    );
  }
  return ExitCode.Ok;
}

import { HELP, parseCliArgs } from "./args.js";
import type { CliIo } from "./cli-io.js";
import { cleanupCommand } from "./commands/cleanup.js";
import { listCommand } from "./commands/list.js";
import { recoverCommand } from "./commands/recover.js";
import { statusCommand } from "./commands/status.js";
import { upCommand } from "./commands/up.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { VERSION } from "./version.js";

/**
 * Runs the `keyup` command with `argv` (without `node` and the script) and resolves with the exit code.
 * Parses the flags, then hands over to the operation's own file under `commands/`. Never throws; never
 * prints a secret.
 *
 * @example
 * ```ts
 * const code = await runCli(["--profile", "ci", "--operation", "up", "--auto"], io);
 * process.exitCode = code;
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCodeValue> {
  const parsed = parseCliArgs(argv, io.env);
  if (!parsed.ok) {
    io.stderr(`keyup: ${parsed.error}\n`);
    return ExitCode.Usage;
  }
  const args = parsed.args;
  switch (args.operation) {
    case "help":
      io.stdout(HELP);
      return ExitCode.Ok;
    case "version":
      io.stdout(`${VERSION}\n`);
      return ExitCode.Ok;
    case "list":
      return listCommand(args, io);
    case "up":
      return upCommand(args, io);
    case "status":
      return statusCommand(args, io);
    case "recover":
      return recoverCommand(args, io);
    case "cleanup":
      return cleanupCommand(args, io);
  }
}

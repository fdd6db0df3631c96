import { type CliArgs, HELP, parseCliArgs, USAGE } from "./args.js";
import type { CliIo } from "./cli-io.js";
import { cleanupCommand } from "./commands/cleanup.js";
import { listCommand } from "./commands/list.js";
import { recoverCommand } from "./commands/recover.js";
import { statusCommand } from "./commands/status.js";
import { upCommand } from "./commands/up.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { regionFor } from "./profile-hints.js";
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
  if (argv.length === 0) {
    // As the AWS CLI does: no arguments is a usage error that shows how to call the command.
    io.stderr(`${USAGE}\nRun keyup --help for every option.\n`);
    return ExitCode.Usage;
  }
  const parsed = parseCliArgs(argv, io.env);
  if (!parsed.ok) {
    io.stderr(`keyup: ${parsed.error}\n`);
    return ExitCode.Usage;
  }
  const args = await withConfigRegion(parsed.args, io.env);
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

/**
 * The signing region as the AWS CLI picks it: `--region`, then `AWS_REGION`, `AWS_DEFAULT_REGION`,
 * then the profile's `region` in the config file; the library's default (us-east-1) after that.
 */
async function withConfigRegion(args: CliArgs, env: NodeJS.ProcessEnv): Promise<CliArgs> {
  if (args.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || args.operation === "help" || args.operation === "version") return args;
  const region = await regionFor(args.profile, env);
  return region ? { ...args, region } : args;
}

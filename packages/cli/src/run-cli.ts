import type { CliArgs } from "./args.js";
import type { CliIo } from "./cli-io.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { HELP, helpOrVersion, USAGE } from "./help.js";
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
  // Help and version are answered before the rest of the command loads (args.ts brings @keyup/core).
  const early = helpOrVersion(argv);
  if (early === "help") {
    io.stdout(HELP);
    return ExitCode.Ok;
  }
  if (early === "version") {
    io.stdout(`${VERSION}\n`);
    return ExitCode.Ok;
  }
  const { parseCliArgs } = await import("./args.js");
  const parsed = parseCliArgs(argv, io.env);
  if (!parsed.ok) {
    io.stderr(`keyup: ${parsed.error}\n`);
    return ExitCode.Usage;
  }
  const args = await withConfigRegion(parsed.args, io.env);
  // Each operation's file is loaded when it runs: help and version need none of them, and the stores,
  // the AWS SDK and the rotation machine they import are most of the start-up time.
  switch (args.operation) {
    case "help":
      io.stdout(HELP);
      return ExitCode.Ok;
    case "version":
      io.stdout(`${VERSION}\n`);
      return ExitCode.Ok;
    case "list":
      return (await import("./commands/list.js")).listCommand(args, io);
    case "up":
      return (await import("./commands/up.js")).upCommand(args, io);
    case "status":
      return (await import("./commands/status.js")).statusCommand(args, io);
    case "recover":
      return (await import("./commands/recover.js")).recoverCommand(args, io);
    case "cleanup":
      return (await import("./commands/cleanup.js")).cleanupCommand(args, io);
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

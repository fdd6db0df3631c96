import { type KeyupLogger, redact } from "@keyup/core";
import type { CliArgs } from "./args.js";
import { autoLog, defaultLogFile } from "./auto-log.js";
import type { CliIo } from "./cli-io.js";

/** Log lines for --auto (the log file) and --log-level (stderr): timestamp, profile, rotation id, key ids. */
export function cliLogger(args: CliArgs, io: CliIo, now: () => Date): KeyupLogger {
  const levels = { debug: 0, info: 1, warn: 2, error: 3 } as const;
  const threshold = levels[args.logLevel ?? "info"];
  const file = args.auto ? autoLog(args.logFile ?? defaultLogFile(io.env), now) : undefined;
  const toStderr = !args.auto && args.logLevel !== undefined;
  const emit = (level: keyof typeof levels) => (message: string) => {
    if (levels[level] < threshold) return;
    const line = `level=${level} profile=${args.profile} ${redact(message)}`;
    if (file) file.write(line).catch((error: Error) => io.stderr(`keyup: cannot write the log file ${file.path}: ${error.message}\n`));
    if (toStderr) io.stderr(`${now().toISOString()} ${line}\n`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

import { dirname } from "node:path";
import { type KeyupLogger, redact } from "@keyup/core";
import type { CliArgs } from "./args.js";
import { autoLog, defaultLogFile } from "./auto-log.js";
import type { CliIo } from "./cli-io.js";

const LEVELS = { debug: 0, info: 1, warn: 2, error: 3 } as const;

/**
 * Log lines for --auto (the log file) and --log-level (stderr): timestamp, level, profile, then the
 * library's line (rotation id, store, step, key ids). `profile` names the profile the lines are about
 * (default: the command's own); a function reads it from each line instead, for a fleet, where the
 * library's lines name the store (`store=ini:/path#profile`).
 */
export function cliLogger(args: CliArgs, io: CliIo, now: () => Date, profile: string | ((message: string) => string) = args.profile): KeyupLogger {
  const threshold = LEVELS[args.logLevel ?? "info"];
  const file = args.auto ? logFile(args, io, now) : undefined;
  const toStderr = !args.auto && args.logLevel !== undefined;
  const emit = (level: keyof typeof LEVELS) => (message: string) => {
    if (LEVELS[level] < threshold) return;
    const who = typeof profile === "string" ? profile : profile(message);
    const line = `level=${level} profile=${who} ${redact(message)}`;
    if (file) file.write(line).catch((error: Error) => io.stderr(`keyup: cannot write the log file ${file.path}: ${error.message}\n`));
    if (toStderr) io.stderr(`${now().toISOString()} ${line}\n`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

// The default log sits in keyup's own state folder, which must be this user's alone; a --log-file
// is where the user said (its folder may rightly be shared, as /tmp is), so only the file is checked.
function logFile(args: CliArgs, io: CliIo, now: () => Date) {
  if (args.logFile !== undefined) return autoLog(args.logFile, now);
  const path = defaultLogFile(io.env);
  return autoLog(path, now, { stateFolder: dirname(path) });
}

/** The profile a library line is about, from its `store=ini:<path>#<profile>` field; `-` for a line about no one profile. */
export function profileInLine(message: string): string {
  return /\bstore=ini:[^\s#]*#(\S+)/.exec(message)?.[1] ?? "-";
}

export { type CliArgs, HELP, type ParsedCliArgs, parseCliArgs, parseDuration, type StoreSpec, USAGE } from "./args.js";
export { autoLog, defaultLogFile } from "./auto-log.js";
export type { CliIo } from "./cli-io.js";
export { ExitCode, type ExitCodeValue } from "./exit-codes.js";
export { formatAge, formatKeyTable, keysToJson, keysToText, textLines } from "./format.js";
export { createProgress } from "./progress.js";
export { runCli } from "./run-cli.js";
export { VERSION } from "./version.js";

import {
  type CredentialStore,
  compositeStore,
  fileJournal,
  type KeyupError,
  listKeys,
  type ProgressEvent,
  pendingRotations,
  type RotationError,
  type RotationReport,
  recover,
  redact,
  rotate,
} from "@keyup/core";
import { envStore } from "@keyup/store-env";
import { iniStore } from "@keyup/store-ini";
import { secretsManagerStore } from "@keyup/store-secretsmanager";
import { type CliArgs, HELP, parseCliArgs, type StoreSpec } from "./args.js";
import { autoLog, defaultLogFile } from "./auto-log.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { formatKeyTable, keysToJson } from "./format.js";
import { explainProfile } from "./profile-hints.js";
import { VERSION } from "./version.js";

/**
 * Everything the command touches outside itself, so it can run in-process in tests and as the real bin.
 *
 * @example
 * ```ts
 * const io: CliIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), env: process.env, interactive: false };
 * ```
 */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** True when a person is at the terminal (stdin and stdout are TTYs): only then does `up` ask first. */
  readonly interactive: boolean;
  /** Asks a question and resolves with the answer line. */
  readonly ask?: (question: string) => Promise<string>;
  /** Aborts a running rotation (Ctrl-C); the rotation then rolls back. */
  readonly signal?: AbortSignal;
  readonly now?: () => Date;
}

/**
 * Runs the `keyup` command with `argv` (without `node` and the script) and resolves with the exit code.
 * Never throws; never prints a secret.
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
      return list(args, io);
    case "up":
      return up(args, io);
    case "status":
      return status(args, io);
    case "recover":
      return recoverCommand(args, io);
  }
}

/**
 * The store the command works on: the profile's INI store, or with `--store`, every store named (the
 * profile's first when `--profile` was given), combined into one. A Secrets Manager store signs its
 * calls with the key held by the first file store, read afresh at each call, so that its lock is
 * released with the new key after the old one is gone.
 */
function storeFor(args: CliArgs, io: CliIo): { store: CredentialStore; label: string } | { error: string } {
  const specs: StoreSpec[] = args.stores.length === 0 || args.profileGiven ? [{ kind: "ini", where: args.profile }, ...args.stores] : [...args.stores];
  const files: CredentialStore[] = [];
  const parts: CredentialStore[] = [];
  try {
    for (const spec of specs) {
      if (spec.kind === "ini") {
        const store = iniStore({ profile: spec.where, ...(args.credentialsFile ? { path: args.credentialsFile } : {}) });
        files.push(store);
        parts.push(store);
      } else if (spec.kind === "env") {
        const store = envStore({ path: spec.where });
        files.push(store);
        parts.push(store);
      } else {
        const signer = files[0] ?? specs.some((s) => s.kind !== "secretsmanager");
        if (!signer) return { error: "a secretsmanager store needs an ini or env store in the same rotation: their key signs the Secrets Manager calls" };
        const source = () => files[0] as CredentialStore;
        parts.push(
          secretsManagerStore({
            secretId: spec.where,
            ...(args.region ? { region: args.region } : {}),
            ...(args.endpointUrl ? { endpoint: args.endpointUrl } : io.env.AWS_ENDPOINT_URL ? { endpoint: io.env.AWS_ENDPOINT_URL } : {}),
            credentials: async () => {
              const key = await source().read();
              if (!key) throw new Error(`${source().name} holds no key to sign Secrets Manager calls with`);
              return key;
            },
          }),
        );
      }
    }
    const unique = parts.filter((p, i) => parts.findIndex((q) => q.name === p.name) === i);
    const store = unique.length === 1 ? (unique[0] as CredentialStore) : compositeStore(unique);
    const label = unique.map((p) => ("path" in p && typeof p.path === "string" ? p.path : p.name)).join(", ");
    return { store, label };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function awsOptions(args: CliArgs) {
  return {
    ...(args.endpointUrl ? { endpoint: args.endpointUrl } : {}),
    ...(args.region ? { region: args.region } : {}),
    ...(args.userName ? { userName: args.userName } : {}),
    ...(args.requestTimeoutSeconds !== undefined ? { requestTimeoutMs: Math.round(args.requestTimeoutSeconds * 1000) } : {}),
  };
}

function journalOption(args: CliArgs) {
  return args.journalFile ? { journal: fileJournal(args.journalFile) } : {};
}

async function status(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  const built = storeFor(args, io);
  if ("error" in built) return usage(io, built.error);
  const { store, label } = built;
  const result = await pendingRotations({ store, ...journalOption(args) });
  if (result.isErr()) return failWith(io, result.error);
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

async function recoverCommand(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  const built = storeFor(args, io);
  if ("error" in built) return usage(io, built.error);
  const { store, label } = built;
  const say = (text: string) => {
    if (!args.auto && args.output === "table") io.stdout(text);
  };
  const result = await recover({
    store,
    ...awsOptions(args),
    ...journalOption(args),
    ...(io.signal ? { signal: io.signal } : {}),
    onEvent: (event) => {
      if (event.type === "step") say(`  ${markOf(event.step.status)} ${event.step.step}${event.step.detail ? `: ${event.step.detail}` : ""}\n`);
    },
  });
  if (result.isErr()) return failWith(io, result.error);
  if (result.value === null) {
    say(`Nothing to recover for ${label}.\n`);
    return ExitCode.Ok;
  }
  say(`\n${summary(result.value)}\n`);
  for (const warning of result.value.warnings) io.stderr(`keyup: warning: ${oneLine(warning)}\n`);
  return result.value.outcome === "completed-with-warnings" ? ExitCode.CompletedWithWarnings : ExitCode.Ok;
}

function markOf(status: string): string {
  return status === "ok" ? "✓" : status === "retry" ? "↻" : status === "failed" ? "✗" : "-";
}

async function list(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  const built = storeFor(args, io);
  if ("error" in built) return usage(io, built.error);
  const { store, label } = built;
  const result = await listKeys({ store, ...awsOptions(args), now: io.now?.() ?? new Date() });
  if (result.isErr()) return failWith(io, await withProfileHint(args, io, result.error));
  if (args.output === "json") io.stdout(`${JSON.stringify(keysToJson(result.value), null, 2)}\n`);
  else io.stdout(`Access keys for ${label}:\n${formatKeyTable(result.value)}\n`);
  return ExitCode.Ok;
}

async function up(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  const built = storeFor(args, io);
  if ("error" in built) return usage(io, built.error);
  const { store, label } = built;
  const now = io.now ?? (() => new Date());
  const log = args.auto ? autoLog(args.logFile ?? defaultLogFile(io.env), now) : undefined;
  const say = (text: string) => {
    if (!args.auto && args.output === "table") io.stdout(text);
  };
  const note = async (line: string) => {
    try {
      await log?.write(`profile=${args.profile} ${line}`);
    } catch (error) {
      io.stderr(`keyup: cannot write the log file ${log?.path}: ${(error as Error).message}\n`);
    }
  };

  if (!args.auto) {
    const before = await listKeys({ store, ...awsOptions(args), now: now() });
    if (before.isErr()) return failWith(io, await withProfileHint(args, io, before.error));
    say(`Keys before rotation (${label}):\n${formatKeyTable(before.value)}\n\n`);
    if (io.interactive && io.ask) {
      const held = before.value.find((k) => k.inStore)?.accessKeyId ?? "the profile's key";
      const answer = (await io.ask(`Rotate ${held}? A new key is created and installed; the old one is deleted. [y/N] `)).trim().toLowerCase();
      if (answer !== "y" && answer !== "yes") {
        say("Nothing changed.\n");
        return ExitCode.Ok;
      }
    }
  }

  await note("rotation started");
  const onEvent = (event: ProgressEvent) => {
    // Finished steps are the progress; "started" lines only help a person watching a slow step.
    if (event.type === "step-started") {
      if (io.interactive) say(`  … ${event.step}\n`);
      return;
    }
    const { step, status, detail } = event.step;
    say(`  ${markOf(status)} ${step}${detail ? `: ${detail}` : ""}\n`);
    void note(`step=${step} status=${status}${detail ? ` detail=${JSON.stringify(detail)}` : ""}`);
  };
  const result = await rotate({
    store,
    ...awsOptions(args),
    onLimit: args.deleteInactive ? "delete-inactive" : "refuse",
    oldKey: args.oldKey,
    ...journalOption(args),
    ...(args.verifyTimeoutSeconds !== undefined ? { verifyTimeoutMs: args.verifyTimeoutSeconds * 1000 } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
    onEvent,
  });

  if (result.isErr()) {
    await note(`outcome=${result.error.report?.outcome ?? "failed"} error=${result.error.kind} message=${JSON.stringify(oneLine(result.error.message))}`);
    if (args.output === "json" && !args.auto) io.stdout(`${JSON.stringify(result.error.report ?? null, null, 2)}\n`);
    return failWith(io, await withProfileHint(args, io, result.error));
  }
  const report = result.value;
  await note(`outcome=${report.outcome} user=${report.userName} old=${report.oldAccessKeyId} new=${report.newAccessKeyId} old_key=${report.oldKey}`);
  if (args.output === "json" && !args.auto) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  say(`\n${summary(report)}\n`);
  for (const warning of report.warnings) io.stderr(`keyup: warning: ${oneLine(warning)}\n`);
  for (const step of report.manualSteps) io.stderr(`keyup: to finish by hand: ${step}\n`);

  if (!args.auto) {
    const after = await listKeys({ store, ...awsOptions(args), now: now() });
    if (after.isOk()) say(`\nKeys after rotation:\n${formatKeyTable(after.value)}\n`);
    else io.stderr(`keyup: rotated, but listing the keys afterwards failed: ${oneLine(after.error.message)}\n`);
  }
  return report.outcome === "completed-with-warnings" ? ExitCode.CompletedWithWarnings : ExitCode.Ok;
}

function summary(report: RotationReport): string {
  if (report.outcome !== "rotated" && report.outcome !== "completed-with-warnings") return `Rotation ${report.outcome}.`;
  const seconds = (report.durationMs / 1000).toFixed(1);
  const fate = { deleted: "deleted", inactive: "deactivated", active: "left active", unknown: "left as it was" }[report.oldKey];
  return `Rotated ${report.userName}'s key: ${report.oldAccessKeyId} -> ${report.newAccessKeyId} (old key ${fate}) in ${seconds} s, verified with ${report.verifyAttempts} call${report.verifyAttempts === 1 ? "" : "s"}.`;
}

async function withProfileHint(args: CliArgs, io: CliIo, error: KeyupError | RotationError): Promise<KeyupError | RotationError> {
  if (error.kind !== "store" || error.code !== "ENOTFOUND") return error;
  const hint = await explainProfile(args.profile, io.env);
  return hint ? { ...error, message: `${error.message}. ${hint}` } : error;
}

function usage(io: CliIo, message: string): ExitCodeValue {
  io.stderr(`keyup: ${oneLine(message)}\n`);
  return ExitCode.Usage;
}

function failWith(io: CliIo, error: KeyupError | RotationError): ExitCodeValue {
  io.stderr(`keyup: ${error.kind === "config" ? "error" : `${error.kind} error`}: ${oneLine(error.message)}\n`);
  switch (error.kind) {
    case "config":
      return ExitCode.Usage;
    case "store":
      // A missing file or profile, or a profile keyup must not rotate, is a configuration problem.
      return ["ENOTFOUND", "EUNSUPPORTED", "EINVALID"].includes(error.code) ? ExitCode.Usage : ExitCode.Failed;
    case "lock":
      return ExitCode.LockHeld;
    case "rollback-failed":
      return ExitCode.RollbackFailed;
    default:
      return ExitCode.Failed;
  }
}

function oneLine(text: string): string {
  return redact(text.replace(/\s*\r?\n\s*/g, " "));
}

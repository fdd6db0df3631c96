import { readFile } from "node:fs/promises";
import {
  type CredentialStore,
  cleanup,
  compositeStore,
  fileJournal,
  formatFleetTable,
  type KeyupError,
  type KeyupLogger,
  listKeys,
  openMfaSession,
  pendingRotations,
  plan,
  type RotationError,
  type RotationReport,
  recover,
  redact,
  rotate,
  rotateMany,
  type SigningCredentials,
} from "@keyup/core";
import { envStore } from "@keyup/store-env";
import { iniStore } from "@keyup/store-ini";
import { secretsManagerStore } from "@keyup/store-secretsmanager";
import { parse as parseIni } from "ini";
import { type CliArgs, HELP, parseCliArgs, type StoreSpec } from "./args.js";
import { autoLog, defaultLogFile } from "./auto-log.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { formatKeyTable, keysToJson } from "./format.js";
import { explainProfile, mfaSerialFor } from "./profile-hints.js";
import { createProgress } from "./progress.js";
import { renderNextSteps } from "./render-next-steps.js";
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
  /** True when stdout is a terminal and `NO_COLOR` is not set: colours the progress marks. */
  readonly color?: boolean;
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
    case "cleanup":
      return cleanupCommand(args, io);
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
        // The file store may come later in the list: the provider below reads it only when called.
        if (!specs.some((s) => s.kind !== "secretsmanager")) {
          return { error: "a secretsmanager store needs an ini or env store in the same rotation: their key signs the Secrets Manager calls" };
        }
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

/** The rotation settings the flags ask for, shared by a single rotation and a fleet. */
function rotationFlags(args: CliArgs) {
  return {
    ...awsOptions(args),
    onLimit: args.deleteInactive ? ("delete-inactive" as const) : ("refuse" as const),
    oldKey: args.oldKey,
    // The CLI guards against retiring a key something still uses; --force skips the check.
    inUseGuard: !args.force,
    ...(args.minAgeMs !== undefined ? { minAgeMs: args.minAgeMs } : {}),
    ...(args.keepOldForMs !== undefined ? { keepOldForMs: args.keepOldForMs } : {}),
    ...(args.description !== undefined ? { description: args.description } : {}),
    ...(args.verifyTimeoutSeconds !== undefined ? { verifyTimeoutMs: args.verifyTimeoutSeconds * 1000 } : {}),
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
  const session = await mfaCredentials(args, io, store);
  if ("exit" in session) return session.exit;
  const result = await recover({
    store,
    ...awsOptions(args),
    ...(session.credentials ? { credentials: session.credentials } : {}),
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
  const session = await mfaCredentials(args, io, store);
  if ("exit" in session) return session.exit;
  const result = await listKeys({
    store,
    ...awsOptions(args),
    ...(session.credentials ? { credentials: session.credentials } : {}),
    now: io.now?.() ?? new Date(),
  });
  if (result.isErr()) return failWith(io, await withProfileHint(args, io, result.error));
  if (args.output === "json") io.stdout(`${JSON.stringify(keysToJson(result.value), null, 2)}\n`);
  else io.stdout(`Access keys for ${label}:\n${formatKeyTable(result.value)}\n`);
  return ExitCode.Ok;
}

async function up(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  if (args.allProfiles || args.profiles.length > 1) return fleet(args, io);
  const built = storeFor(args, io);
  if ("error" in built) return usage(io, built.error);
  const { store, label } = built;
  const now = io.now ?? (() => new Date());
  const logger = cliLogger(args, io, now);
  const show = !args.auto && !args.quiet && args.output === "table";
  const say = (text: string) => {
    if (show) io.stdout(text);
  };

  // MFA: one session (one code) for the listing before, the rotation and the listing after.
  const session = await mfaCredentials(args, io, store);
  if ("exit" in session) return session.exit;
  const signing = session.credentials ? { credentials: session.credentials } : {};
  const rotateOptions = { store, ...rotationFlags(args), ...signing, ...journalOption(args) };

  if (args.dryRun) {
    const planned = await plan(rotateOptions);
    if (planned.isErr()) return failWith(io, await withProfileHint(args, io, planned.error));
    if (args.output === "json") {
      io.stdout(`${JSON.stringify(planned.value, null, 2)}\n`);
    } else if (planned.value.outcome === "skipped") {
      io.stdout(`Dry run for ${label}: nothing would change (the key is younger than --if-older-than).\n`);
    } else {
      io.stdout(`Dry run for ${label} (user ${planned.value.userName}, key ${planned.value.oldAccessKeyId}); nothing was changed. keyup would:\n`);
      for (const action of planned.value.actions) io.stdout(`  - ${action}\n`);
      for (const warning of planned.value.warnings) io.stdout(`  ! ${warning}\n`);
    }
    return ExitCode.Ok;
  }

  if (!args.auto) {
    const before = await listKeys({ store, ...awsOptions(args), ...signing, now: now() });
    if (before.isErr()) return failWith(io, await withProfileHint(args, io, before.error));
    say(`Keys before rotation (${label}):\n${formatKeyTable(before.value)}\n\n`);
    if (io.interactive && io.ask) {
      const held = before.value.find((k) => k.inStore)?.accessKeyId ?? "the profile's key";
      const fate = args.keepOldForMs !== undefined || args.oldKey === "deactivate" ? "deactivated" : args.oldKey === "keep" ? "kept" : "deleted";
      const answer = (await io.ask(`Rotate ${held}? A new key is created and installed; the old one is ${fate}. [y/N] `)).trim().toLowerCase();
      if (answer !== "y" && answer !== "yes") {
        say("Nothing changed.\n");
        return ExitCode.Ok;
      }
    }
  }

  const progress = createProgress(say, { tty: io.interactive && show, color: io.color === true });
  const result = await rotate({ ...rotateOptions, logger, ...(io.signal ? { signal: io.signal } : {}), onEvent: progress.onEvent });
  progress.stop();

  if (result.isErr()) {
    logger.error(`outcome=${result.error.report?.outcome ?? "failed"} error=${result.error.kind} message=${JSON.stringify(oneLine(result.error.message))}`);
    if (args.output === "json" && !args.auto) io.stdout(`${JSON.stringify(result.error.report ?? null, null, 2)}\n`);
    return failWith(io, await withProfileHint(args, io, result.error));
  }
  const report = result.value;
  logger.info(`outcome=${report.outcome} user=${report.userName} old=${report.oldAccessKeyId} new=${report.newAccessKeyId ?? "-"} old_key=${report.oldKey}`);
  if (args.output === "json" && !args.auto) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  if (report.outcome === "skipped") {
    say(`Nothing to do: ${report.steps.at(-1)?.detail ?? "the key is younger than --if-older-than"}.\n`);
    return ExitCode.Skipped;
  }
  say(`\n${summary(report)}\n`);
  for (const warning of report.warnings) io.stderr(`keyup: warning: ${oneLine(warning)}\n`);
  for (const step of renderNextSteps(report.nextSteps)) io.stderr(`keyup: to finish by hand: ${step}\n`);

  if (show) {
    const after = await listKeys({ store, ...awsOptions(args), ...signing, now: now() });
    if (after.isOk()) say(`\nKeys after rotation:\n${formatKeyTable(after.value)}\n`);
    else io.stderr(`keyup: rotated, but listing the keys afterwards failed: ${oneLine(after.error.message)}\n`);
  }
  return report.outcome === "completed-with-warnings" ? ExitCode.CompletedWithWarnings : ExitCode.Ok;
}

/**
 * Several profiles of one credentials file (`--profile a --profile b`, or `--all-profiles`), rotated a
 * few at a time by `rotateMany()`: one lock for the file, profiles sharing a key rotated once.
 */
async function fleet(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  if (args.stores.length > 0) return usage(io, "--store works with one profile; a fleet rotates profiles of the credentials file");
  if (args.dryRun) return usage(io, "--dry-run works with one profile at a time");
  const path = iniStore({ profile: "default", ...(args.credentialsFile ? { path: args.credentialsFile } : {}) }).path;
  let profiles = [...new Set(args.profiles)];
  if (args.allProfiles) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      return failWith(io, { kind: "store", store: `ini:${path}`, code: "ENOTFOUND", message: `cannot read ${path}: ${(error as Error).message}` });
    }
    // Profiles that hold a long-term key; temporary credentials (a session token) cannot be rotated.
    profiles = Object.entries(parseIni(text.replace(/^\uFEFF/, "")) as Record<string, Record<string, unknown>>)
      .filter(([, v]) => typeof v === "object" && v !== null && Object.keys(v).some((k) => k.toLowerCase() === "aws_access_key_id"))
      .filter(([, v]) => !Object.keys(v).some((k) => k.toLowerCase() === "aws_session_token"))
      .map(([name]) => name);
    if (profiles.length === 0) return usage(io, `no profile in ${path} holds an access key`);
  }
  let stores: CredentialStore[];
  try {
    stores = profiles.map((profile) => iniStore({ profile, ...(args.credentialsFile ? { path: args.credentialsFile } : {}) }));
  } catch (error) {
    return usage(io, (error as Error).message);
  }
  const now = io.now ?? (() => new Date());
  const logger = cliLogger(args, io, now);
  const show = !args.auto && !args.quiet && args.output === "table";
  const profileOf = (name: string) => name.slice(name.lastIndexOf("#") + 1);
  if (show) io.stdout(`Rotating ${stores.length} profiles of ${path}, ${args.concurrency} at a time:\n`);
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
  else if (show) io.stdout(`\n${formatFleetTable(report)}\n`);
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
 * The MFA session for this run, when the profile has an `mfa_serial`: the code comes from --mfa-code
 * or a prompt on a terminal. With --auto and no code, the run stops here, before anything is created.
 */
async function mfaCredentials(args: CliArgs, io: CliIo, store: CredentialStore): Promise<{ credentials?: SigningCredentials } | { exit: ExitCodeValue }> {
  const path = iniStore({ profile: args.profile, ...(args.credentialsFile ? { path: args.credentialsFile } : {}) }).path;
  const serialNumber = await mfaSerialFor(args.profile, io.env, path);
  if (!serialNumber) return {};
  let code = args.mfaCode;
  if (!code) {
    if (args.auto || !io.interactive || !io.ask) {
      io.stderr(
        `keyup: error: profile ${args.profile} requires MFA (mfa_serial ${serialNumber}): pass --mfa-code with the current code${args.auto ? " (--auto cannot prompt)" : ""}; nothing was changed\n`,
      );
      return { exit: ExitCode.Usage };
    }
    code = (await io.ask(`MFA code for ${serialNumber}: `)).trim();
  }
  const fixed = code;
  const session = await openMfaSession({ store, ...awsOptions(args), mfa: { serialNumber, tokenCode: async () => fixed } });
  if (session.isErr()) return { exit: failWith(io, session.error) };
  return { credentials: session.value };
}

/** Log lines for --auto (the log file) and --log-level (stderr): timestamp, profile, rotation id, key ids. */
function cliLogger(args: CliArgs, io: CliIo, now: () => Date): KeyupLogger {
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

async function cleanupCommand(args: CliArgs, io: CliIo): Promise<ExitCodeValue> {
  const built = storeFor(args, io);
  if ("error" in built) return usage(io, built.error);
  const session = await mfaCredentials(args, io, built.store);
  if ("exit" in session) return session.exit;
  const result = await cleanup({
    store: built.store,
    ...awsOptions(args),
    ...(session.credentials ? { credentials: session.credentials } : {}),
    now: io.now?.() ?? new Date(),
  });
  if (result.isErr()) return failWith(io, await withProfileHint(args, io, result.error));
  const { deleted, kept, userName } = result.value;
  if (args.output === "json") io.stdout(`${JSON.stringify(result.value, null, 2)}\n`);
  else if (!args.quiet && !args.auto) {
    io.stdout(
      deleted.length
        ? `Deleted ${userName}'s Inactive keys past their grace period: ${deleted.join(", ")}\n`
        : `No key of ${userName} is past its grace period.\n`,
    );
    for (const k of kept) io.stdout(`Kept ${k.accessKeyId} (Inactive) until ${k.keepUntil.toISOString()}\n`);
  }
  return ExitCode.Ok;
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
  // One line, as scripts expect: the next steps (in the CLI's words) go at its end.
  const next = renderNextSteps("report" in error ? (error.report?.nextSteps ?? []) : []);
  io.stderr(`keyup: ${error.kind === "config" ? "error" : `${error.kind} error`}: ${oneLine([error.message, ...next].join("; "))}\n`);
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
    case "internal":
      return ExitCode.Internal;
    default:
      return ExitCode.Failed;
  }
}

function oneLine(text: string): string {
  return redact(text.replace(/\s*\r?\n\s*/g, " "));
}

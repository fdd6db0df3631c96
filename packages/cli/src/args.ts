import { parseArgs } from "node:util";
import { checkMfaCode, checkRotateSettings, describeOptionProblem, type OptionProblem, type RotateOptionName } from "@keyup/core";

/**
 * What the command line asked for, after validation.
 *
 * @example
 * ```ts
 * const parsed = parseCliArgs(["--profile", "ci", "--operation", "up", "--auto"]);
 * if (parsed.ok) console.log(parsed.args.operation); // "up"
 * ```
 */
export interface CliArgs {
  readonly operation: "list" | "up" | "status" | "recover" | "cleanup" | "help" | "version";
  readonly profile: string;
  /** True when `--profile` (or `$AWS_PROFILE`) named the profile, rather than the `default` fallback. */
  readonly profileGiven: boolean;
  /** Extra stores from `--store KIND:WHERE`, in order. */
  readonly stores: readonly StoreSpec[];
  readonly auto: boolean;
  /** `text` is tab-separated, one record a line, as the AWS CLI prints it. */
  readonly output: "table" | "json" | "text";
  readonly endpointUrl?: string;
  readonly region?: string;
  readonly logFile?: string;
  readonly credentialsFile?: string;
  readonly userName?: string;
  readonly verifyTimeoutSeconds?: number;
  readonly requestTimeoutSeconds?: number;
  readonly journalFile?: string;
  readonly deleteInactive: boolean;
  readonly oldKey: "delete" | "deactivate" | "keep";
  /** `--profile` given more than once, or `--all-profiles`: a fleet rotation. */
  readonly profiles: readonly string[];
  readonly allProfiles: boolean;
  readonly concurrency: number;
  readonly minAgeMs?: number;
  readonly keepOldForMs?: number;
  readonly force: boolean;
  readonly description?: string;
  readonly dryRun: boolean;
  readonly mfaCode?: string;
  readonly logLevel?: "debug" | "info" | "warn" | "error";
  readonly quiet: boolean;
}

/**
 * A store named on the command line: `ini:PROFILE`, `env:PATH` or `secretsmanager:SECRET_ID`.
 *
 * @example
 * ```ts
 * const spec: StoreSpec = { kind: "env", where: "./.env" };
 * ```
 */
export interface StoreSpec {
  readonly kind: "ini" | "env" | "secretsmanager";
  readonly where: string;
}

/**
 * The result of {@link parseCliArgs}: the arguments, or a usage error message.
 *
 * @example
 * ```ts
 * const parsed: ParsedCliArgs = { ok: false, error: "unknown option --secret" };
 * ```
 */
export type ParsedCliArgs = { readonly ok: true; readonly args: CliArgs } | { readonly ok: false; readonly error: string };

/**
 * The `--help` text. docs/cli.md documents the same flags (a test keeps the two in step).
 *
 * @example
 * ```ts
 * console.log(HELP);
 * ```
 */
export const HELP = `keyup — rotate an AWS IAM user's access key safely

Usage:
  keyup --profile PROFILE --operation list [--output table|json|text]
  keyup --profile PROFILE --operation up [--auto] [--if-older-than 90d] [--dry-run]
  keyup --profile A --profile B … --operation up      (or --all-profiles: a fleet)
  keyup --profile PROFILE --operation status|recover|cleanup
  keyup list|up|status|recover|cleanup [options]   (the operation may also be given first)

Operations:
  list                 Show the profile's IAM user's keys: id, age, status, last use, description.
  up                   Rotate the profile's key: create, install, verify, retire the old one.
                       (alias: keyup)
  status               Show an unfinished rotation of the profile, if one was interrupted.
  recover              Finish or roll back an interrupted rotation, whichever is safe.
                       (up does this too before rotating.)
  cleanup              Delete the user's Inactive keys whose grace period (--keep-old-for) is over.

Options:
  -p, --profile NAME         Profile in the credentials file (default: $AWS_PROFILE, else
                             $AWS_DEFAULT_PROFILE, else "default"). Repeat it to rotate (or list)
                             several profiles (a fleet).
      --all-profiles         Rotate (or list) every profile of the credentials file that holds a key.
      --concurrency N        Profiles rotated at once in a fleet (default 4).
  -o, --operation OP         list | up | keyup | status | recover | cleanup.
      --auto                 No prompt, nothing on stdout; append a timestamped log to the log file;
                             exit non-zero on any failure. For cron and CI.
      --if-older-than AGE    Rotate only if the key is older than AGE (units d, h, m: 90d, 12h);
                             otherwise exit 6 (skipped).
      --keep-old-for AGE     Deactivate the old key instead of deleting it, and record that it may be
                             deleted after AGE (keyup cleanup deletes it then).
      --old-key ACTION       delete (default), deactivate, or keep the old key after the new one works.
      --force                Retire the old key even if it was used after the new key was installed
                             (by default such a key is kept and a warning names where it was used).
      --description TEXT     Describe the new key (a user tag named after the key id, as in the console).
      --delete-inactive      At the 2-key limit, delete the other key if it is Inactive and no store holds it.
      --dry-run              Print what would happen; change nothing in IAM or any store (a fleet:
                             each profile's plan).
      --mfa-code CODE        The current code of the profile's MFA device (mfa_serial); prompted for
                             on a terminal when needed.
      --store KIND:WHERE     Also install the new key into another store; repeatable. KIND:WHERE is
                             ini:PROFILE, env:PATH (a .env file) or secretsmanager:SECRET_ID.
                             With --store, --profile is only used when given: beside an ini or env
                             store it is rotated too; when every --store is secretsmanager it signs
                             the Secrets Manager calls instead (else the default AWS credential chain
                             does), and the secret's own key signs IAM.
      --output FORMAT        table (default), json, or text (tab-separated records, as the AWS CLI).
      --endpoint-url URL     IAM and STS endpoint (default: $AWS_ENDPOINT_URL, else AWS).
      --region REGION        Signing region (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's
                             region in $AWS_CONFIG_FILE or ~/.aws/config, else us-east-1).
      --credentials-file F   Credentials file (default: $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials).
      --user-name NAME       IAM user (default: the user STS names for the profile's key).
      --verify-timeout SEC   How long to wait for the new key to work (default 30).
      --request-timeout SEC  Give up on one AWS request after this long, then retry (default 10).
      --journal FILE         Rotation journal (default: beside the credentials file,
                             <credentials>.keyup-journal.<profile>).
      --log-file FILE        Log file for --auto (default: $XDG_STATE_HOME/keyup/keyup.log,
                             else ~/.local/state/keyup/keyup.log).
      --log-level LEVEL      debug, info (default), warn or error; without --auto, log lines go to stderr.
  -q, --quiet                Print only errors and warnings.
  -h, --help                 Show this help.
  -v, --version              Show the version.

Secrets are never accepted on the command line: keyup reads them from the credentials file.
Colour and the progress spinner appear only on a terminal, and never with NO_COLOR set.
Without arguments keyup prints its usage (exit 2); an unknown operation is named, with the nearest.

Exit codes:
  0  rotated, listed, cleaned up, or a dry run
  1  failed: nothing changed, or everything was rolled back (a fleet: any profile failed)
  2  bad flags or configuration (including MFA needed but no code under --auto)
  3  rotated, but the old key was not retired as asked (see the warning)
  4  another rotation holds the lock on the credentials file
  5  the rollback failed too: follow the printed steps to finish by hand
  6  skipped: the key is younger than --if-older-than
  7  a keyup bug: please report it with the printed message
`;

/**
 * The "Usage:" lines of {@link HELP}, printed when `keyup` runs without arguments.
 *
 * @example
 * ```ts
 * process.stderr.write(USAGE);
 * ```
 */
export const USAGE: string = `${HELP.slice(HELP.indexOf("Usage:"), HELP.indexOf("\nOperations:")).trimEnd()}\n`;

const OPERATIONS: Record<string, CliArgs["operation"]> = { list: "list", up: "up", keyup: "up", status: "status", recover: "recover", cleanup: "cleanup" };

/**
 * Parses a duration such as `90d` or `12h` into milliseconds (`d` days, `h` hours, `m` minutes).
 *
 * @example
 * ```ts
 * parseDuration("90d"); // 7_776_000_000
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([dhm])$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as "d" | "h" | "m"];
  return Math.round(Number(match[1]) * unit);
}

/**
 * Parses and validates the command line with Node's own `util.parseArgs` (strict: unknown flags are
 * errors, so a secret can never be passed by mistake).
 *
 * @example
 * ```ts
 * parseCliArgs(["--profile", "me", "--operation", "list", "--output", "json"]);
 * ```
 */
export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ParsedCliArgs {
  let parsed: ReturnType<typeof parseWithNode>;
  try {
    parsed = parseWithNode(argv);
  } catch (error) {
    // Node's message names the flag; it never echoes a value.
    return { ok: false, error: (error as Error).message.replace(/\. To specify a positional argument.*$/s, "").replace(/\s*\n\s*/g, " ") };
  }
  const { values, positionals } = parsed;
  if (values.help) return { ok: true, args: defaults("help", env) };
  if (values.version) return { ok: true, args: defaults("version", env) };

  // Never echo stray arguments: someone may have pasted a secret.
  if (positionals.length > 1)
    return {
      ok: false,
      error: `unexpected extra argument${positionals.length > 2 ? "s" : ""} after "${OPERATIONS[positionals[0] ?? ""] ? positionals[0] : "the operation"}" (keyup takes no secrets or values on the command line beyond its flags)`,
    };
  const opName = values.operation ?? positionals[0];
  if (opName === undefined) return { ok: false, error: "no operation: use --operation list or --operation up (see --help)" };
  const operation = OPERATIONS[opName];
  if (!operation) return { ok: false, error: unknownOperation(opName) };
  if (values.operation !== undefined && positionals[0] !== undefined && OPERATIONS[positionals[0]] !== operation) {
    return { ok: false, error: `two different operations given: ${positionals[0]} and --operation ${values.operation}` };
  }
  const output = values.output ?? "table";
  if (output !== "table" && output !== "json" && output !== "text") return { ok: false, error: `--output must be table, json or text, got "${output}"` };
  const verifyTimeoutSeconds = values["verify-timeout"] === undefined ? undefined : Number(values["verify-timeout"]);
  let requestTimeoutSeconds: number | undefined;
  if (values["request-timeout"] !== undefined) {
    requestTimeoutSeconds = Number(values["request-timeout"]);
    if (!Number.isFinite(requestTimeoutSeconds) || requestTimeoutSeconds <= 0 || requestTimeoutSeconds > 600) {
      return { ok: false, error: `--request-timeout must be a number of seconds from 0.1 to 600, got "${values["request-timeout"]}"` };
    }
  }
  const stores: StoreSpec[] = [];
  for (const spec of values.store ?? []) {
    const match = /^(ini|env|secretsmanager):(.+)$/.exec(spec);
    if (!match) return { ok: false, error: `--store takes ini:PROFILE, env:PATH or secretsmanager:SECRET_ID, got "${spec.split(":")[0]}:…"` };
    stores.push({ kind: match[1] as StoreSpec["kind"], where: match[2] as string });
  }
  const durations: Record<string, number | undefined> = {};
  for (const flag of ["if-older-than", "keep-old-for"] as const) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const ms = parseDuration(raw);
    if (ms === undefined) return { ok: false, error: `--${flag} takes a duration such as 90d or 12h, got "${raw}"` };
    durations[flag] = ms;
  }
  // The rules themselves are the library's (one schema for both); only the spelling is the CLI's.
  const problem = checkRotateSettings({
    ...(values["old-key"] !== undefined ? { oldKey: values["old-key"] } : {}),
    ...(durations["keep-old-for"] !== undefined ? { keepOldForMs: durations["keep-old-for"] } : {}),
    ...(durations["if-older-than"] !== undefined ? { minAgeMs: durations["if-older-than"] } : {}),
    ...(verifyTimeoutSeconds !== undefined ? { verifyTimeoutMs: verifyTimeoutSeconds * 1000 } : {}),
    ...(values.description !== undefined ? { description: values.description } : {}),
  });
  if (problem) return { ok: false, error: flagProblem(problem, values) };
  const oldKey = (values["old-key"] ?? "delete") as CliArgs["oldKey"];
  const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32)
    return { ok: false, error: `--concurrency must be a whole number from 1 to 32, got "${values.concurrency}"` };
  const logLevel = values["log-level"];
  if (logLevel !== undefined && !["debug", "info", "warn", "error"].includes(logLevel))
    return { ok: false, error: `--log-level must be debug, info, warn or error, got "${logLevel}"` };
  const mfaProblem = values["mfa-code"] === undefined ? undefined : checkMfaCode(values["mfa-code"]);
  if (mfaProblem) return { ok: false, error: flagProblem(mfaProblem, values) };
  const profileList = values.profile ?? [];
  const profile = profileList[0] ?? profileFromEnv(env) ?? "default";
  if (profile.trim() === "" || /[\]\r\n]/.test(profile)) return { ok: false, error: `--profile "${profile}" is not a profile name` };

  const endpointUrl = values["endpoint-url"] ?? env.AWS_ENDPOINT_URL;
  return {
    ok: true,
    args: {
      operation,
      profile,
      profileGiven: profileList.length > 0 || profileFromEnv(env) !== undefined,
      profiles: profileList,
      allProfiles: values["all-profiles"] ?? false,
      concurrency,
      force: values.force ?? false,
      dryRun: values["dry-run"] ?? false,
      quiet: values.quiet ?? false,
      ...(durations["if-older-than"] !== undefined ? { minAgeMs: durations["if-older-than"] } : {}),
      ...(durations["keep-old-for"] !== undefined ? { keepOldForMs: durations["keep-old-for"] } : {}),
      ...(values.description !== undefined ? { description: values.description } : {}),
      ...(values["mfa-code"] !== undefined ? { mfaCode: values["mfa-code"] } : {}),
      ...(logLevel !== undefined ? { logLevel: logLevel as "debug" | "info" | "warn" | "error" } : {}),
      stores,
      auto: values.auto ?? false,
      output,
      deleteInactive: values["delete-inactive"] ?? false,
      oldKey: durations["keep-old-for"] !== undefined ? "deactivate" : oldKey,
      ...(endpointUrl ? { endpointUrl } : {}),
      ...(values.region ? { region: values.region } : {}),
      ...(values["log-file"] ? { logFile: values["log-file"] } : {}),
      ...(values["credentials-file"] ? { credentialsFile: values["credentials-file"] } : {}),
      ...(values["user-name"] ? { userName: values["user-name"] } : {}),
      ...(verifyTimeoutSeconds !== undefined ? { verifyTimeoutSeconds } : {}),
      ...(requestTimeoutSeconds !== undefined ? { requestTimeoutSeconds } : {}),
      ...(values.journal ? { journalFile: values.journal } : {}),
    },
  };
}

/**
 * The profile the environment names, as the AWS CLI reads it: `AWS_PROFILE`, else the older
 * `AWS_DEFAULT_PROFILE`. An empty value counts as unset.
 */
function profileFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  return env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || undefined;
}

/**
 * Names what was typed and suggests the nearest operation. A word that does not look like an
 * operation name is not echoed: it may be a secret pasted in the wrong place.
 */
function unknownOperation(typed: string): string {
  const names = ["list", "up", "status", "recover", "cleanup"];
  const all = `(the operations: ${names.join(", ")})`;
  if (!/^[a-z][a-z-]{0,23}$/.test(typed)) return `unknown operation, not shown as it does not look like one ${all}`;
  const nearest = names.map((name) => ({ name, distance: editDistance(typed, name) })).sort((x, y) => x.distance - y.distance)[0];
  if (nearest && nearest.distance <= Math.max(2, Math.floor(typed.length / 2))) return `unknown operation "${typed}": did you mean ${nearest.name}? ${all}`;
  return `unknown operation "${typed}" ${all}`;
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The flag each library option is set by. */
const FLAG_OF: Record<RotateOptionName, string> = {
  oldKey: "--old-key",
  keepOldForMs: "--keep-old-for",
  minAgeMs: "--if-older-than",
  verifyTimeoutMs: "--verify-timeout",
  description: "--description",
  mfaCode: "--mfa-code",
};

/** The library's rule, in the CLI's words: flags for option names, the value as typed (never an MFA code or a description). */
function flagProblem(problem: OptionProblem, values: Record<string, unknown>): string {
  const typed = (option: RotateOptionName | undefined) => {
    if (option === undefined || option === "mfaCode" || option === "description") return undefined;
    const raw = values[FLAG_OF[option].slice(2)];
    return typeof raw === "string" ? JSON.stringify(raw) : undefined;
  };
  const value = typed(problem.option);
  const clashValue = problem.clashesWith === undefined ? undefined : values[FLAG_OF[problem.clashesWith].slice(2)];
  return describeOptionProblem(problem, {
    names: FLAG_OF,
    ...(value !== undefined ? { value } : {}),
    ...(typeof clashValue === "string" ? { clashValue: JSON.stringify(clashValue) } : {}),
  });
}

function parseWithNode(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      profile: { type: "string", short: "p", multiple: true },
      "all-profiles": { type: "boolean" },
      concurrency: { type: "string" },
      "if-older-than": { type: "string" },
      "keep-old-for": { type: "string" },
      force: { type: "boolean" },
      description: { type: "string" },
      "dry-run": { type: "boolean" },
      "mfa-code": { type: "string" },
      "log-level": { type: "string" },
      quiet: { type: "boolean", short: "q" },
      operation: { type: "string", short: "o" },
      auto: { type: "boolean" },
      output: { type: "string" },
      "endpoint-url": { type: "string" },
      region: { type: "string" },
      "log-file": { type: "string" },
      "credentials-file": { type: "string" },
      "user-name": { type: "string" },
      "verify-timeout": { type: "string" },
      "delete-inactive": { type: "boolean" },
      "old-key": { type: "string" },
      "request-timeout": { type: "string" },
      journal: { type: "string" },
      store: { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}

function defaults(operation: CliArgs["operation"], env: NodeJS.ProcessEnv): CliArgs {
  return {
    operation,
    profile: profileFromEnv(env) ?? "default",
    profileGiven: profileFromEnv(env) !== undefined,
    stores: [],
    profiles: [],
    allProfiles: false,
    concurrency: 4,
    force: false,
    dryRun: false,
    quiet: false,
    auto: false,
    output: "table",
    deleteInactive: false,
    oldKey: "delete",
  };
}

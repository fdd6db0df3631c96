import { checkMfaCode, checkRotateSettings, describeOptionProblem, type OptionProblem, type RotateOptionName } from "@keyup/core";
import { parseWithNode } from "./help.js";

export { HELP, USAGE } from "./help.js";

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
  const concurrency = values.concurrency === undefined ? 12 : Number(values.concurrency);
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

function defaults(operation: CliArgs["operation"], env: NodeJS.ProcessEnv): CliArgs {
  return {
    operation,
    profile: profileFromEnv(env) ?? "default",
    profileGiven: profileFromEnv(env) !== undefined,
    stores: [],
    profiles: [],
    allProfiles: false,
    concurrency: 12,
    force: false,
    dryRun: false,
    quiet: false,
    auto: false,
    output: "table",
    deleteInactive: false,
    oldKey: "delete",
  };
}

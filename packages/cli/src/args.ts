import { parseArgs } from "node:util";

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
  readonly operation: "list" | "up" | "status" | "recover" | "help" | "version";
  readonly profile: string;
  /** True when `--profile` (or `$AWS_PROFILE`) named the profile, rather than the `default` fallback. */
  readonly profileGiven: boolean;
  /** Extra stores from `--store KIND:WHERE`, in order. */
  readonly stores: readonly StoreSpec[];
  readonly auto: boolean;
  readonly output: "table" | "json";
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
  keyup --profile PROFILE --operation list [--output table|json]
  keyup --profile PROFILE --operation up [--auto]
  keyup --profile PROFILE --operation status|recover
  keyup list|up|status|recover [options]   (the operation may also be given first)

Operations:
  list                 Show the profile's IAM user's keys: id, age, status, last use.
  up                   Rotate the profile's key: create, install, verify, retire the old one.
                       (alias: keyup)
  status               Show an unfinished rotation of the profile, if one was interrupted.
  recover              Finish or roll back an interrupted rotation, whichever is safe.
                       (up does this too before rotating.)

Options:
  -p, --profile NAME         Profile in the credentials file (default: $AWS_PROFILE, else "default").
  -o, --operation OP         list | up | keyup | status | recover.
      --auto                 No prompt, nothing on stdout; append a timestamped log to the log file;
                             exit non-zero on any failure. For cron and CI.
      --output FORMAT        table (default) or json.
      --endpoint-url URL     IAM and STS endpoint (default: $AWS_ENDPOINT_URL, else AWS).
      --region REGION        Signing region (default: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1).
      --store KIND:WHERE     Also install the new key into another store; repeatable. KIND:WHERE is
                             ini:PROFILE, env:PATH (a .env file) or secretsmanager:SECRET_ID.
                             With --store, --profile is only used when given.
      --credentials-file F   Credentials file (default: $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials).
      --user-name NAME       IAM user (default: the user STS names for the profile's key).
      --verify-timeout SEC   How long to wait for the new key to work (default 30).
      --delete-inactive      At the 2-key limit, delete the other key if it is Inactive and no store holds it.
      --old-key ACTION       delete (default), deactivate, or keep the old key after the new one works.
      --request-timeout SEC  Give up on one AWS request after this long, then retry (default 10).
      --journal FILE         Rotation journal (default: beside the credentials file,
                             <credentials>.keyup-journal.<profile>).
      --log-file FILE        Log file for --auto (default: $XDG_STATE_HOME/keyup/keyup.log,
                             else ~/.local/state/keyup/keyup.log).
  -h, --help                 Show this help.
  -v, --version              Show the version.

Secrets are never accepted on the command line: keyup reads them from the credentials file.

Exit codes:
  0  rotated, listed, or nothing to do
  1  failed: nothing changed, or everything was rolled back
  2  bad flags or configuration
  3  rotated, but the old key could not be deactivated or deleted (see the warning)
  4  another rotation holds the lock on the credentials file
  5  the rollback failed too: follow the printed steps to finish by hand
`;

const OPERATIONS: Record<string, CliArgs["operation"]> = { list: "list", up: "up", keyup: "up", status: "status", recover: "recover" };

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
  if (!operation)
    return { ok: false, error: values.operation !== undefined ? `unknown operation "${opName}": use list or up` : "unknown operation: use list or up" };
  if (values.operation !== undefined && positionals[0] !== undefined && OPERATIONS[positionals[0]] !== operation) {
    return { ok: false, error: `two different operations given: ${positionals[0]} and --operation ${values.operation}` };
  }
  const output = values.output ?? "table";
  if (output !== "table" && output !== "json") return { ok: false, error: `--output must be table or json, got "${output}"` };
  const oldKey = values["old-key"] ?? "delete";
  if (oldKey !== "delete" && oldKey !== "deactivate" && oldKey !== "keep")
    return { ok: false, error: `--old-key must be delete, deactivate or keep, got "${oldKey}"` };
  let verifyTimeoutSeconds: number | undefined;
  if (values["verify-timeout"] !== undefined) {
    verifyTimeoutSeconds = Number(values["verify-timeout"]);
    if (!Number.isFinite(verifyTimeoutSeconds) || verifyTimeoutSeconds <= 0 || verifyTimeoutSeconds > 3600) {
      return { ok: false, error: `--verify-timeout must be a number of seconds from 1 to 3600, got "${values["verify-timeout"]}"` };
    }
  }
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
  const profile = values.profile ?? env.AWS_PROFILE ?? "default";
  if (profile.trim() === "" || /[\]\r\n]/.test(profile)) return { ok: false, error: `--profile "${profile}" is not a profile name` };

  const endpointUrl = values["endpoint-url"] ?? env.AWS_ENDPOINT_URL;
  return {
    ok: true,
    args: {
      operation,
      profile,
      profileGiven: values.profile !== undefined || env.AWS_PROFILE !== undefined,
      stores,
      auto: values.auto ?? false,
      output,
      deleteInactive: values["delete-inactive"] ?? false,
      oldKey,
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

function parseWithNode(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      profile: { type: "string", short: "p" },
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
    profile: env.AWS_PROFILE ?? "default",
    profileGiven: env.AWS_PROFILE !== undefined,
    stores: [],
    auto: false,
    output: "table",
    deleteInactive: false,
    oldKey: "delete",
  };
}

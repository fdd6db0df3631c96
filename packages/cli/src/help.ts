import { parseArgs } from "node:util";

// The help text and the flag table, apart from args.ts: `keyup --help` and `--version` are answered
// from here without loading @keyup/core, whose option rules args.ts applies to every other command.

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
                             $AWS_DEFAULT_PROFILE, else "default"), or a role profile: the key of
                             its source_profile (at the end of the chain) is used. Repeat it to
                             rotate (or list) several profiles (a fleet; roles are not followed).
      --all-profiles         Rotate (or list) every profile of the credentials file that holds a key.
      --concurrency N        At most N profiles rotated at once in a fleet (default 12;
                             fewer while IAM throttles).
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

/**
 * `help` or `version` when the command line asks for one of them and parses (a bad flag is left to
 * `parseCliArgs`, which says what is wrong); undefined otherwise.
 *
 * @example
 * ```ts
 * helpOrVersion(["--profile", "ci", "--help"]); // "help"
 * ```
 */
export function helpOrVersion(argv: readonly string[]): "help" | "version" | undefined {
  let values: ReturnType<typeof parseWithNode>["values"];
  try {
    values = parseWithNode(argv).values;
  } catch {
    return undefined;
  }
  return values.help ? "help" : values.version ? "version" : undefined;
}

/**
 * Node's `util.parseArgs` with keyup's flags, strict: an unknown flag throws.
 *
 * @example
 * ```ts
 * parseWithNode(["--profile", "ci", "list"]).values.profile; // ["ci"]
 * ```
 */
export function parseWithNode(argv: readonly string[]) {
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

/**
 * The `keyup` command's exit codes. Scripts and cron jobs can tell outcomes apart by these alone.
 *
 * @example
 * ```ts
 * if (code === ExitCode.LockHeld) console.error("another rotation is running");
 * ```
 */
export const ExitCode = {
  /** Rotated, listed, cleaned up, or a dry run. */
  Ok: 0,
  /** The rotation failed; nothing was changed, or everything was rolled back. */
  Failed: 1,
  /** Bad flags or configuration: nothing was attempted. */
  Usage: 2,
  /** Rotated, but the old key could not be deactivated or deleted: see the warning. */
  CompletedWithWarnings: 3,
  /** Another rotation holds the store's lock. */
  LockHeld: 4,
  /** A failure and its rollback both failed: follow the printed steps to finish by hand. */
  RollbackFailed: 5,
  /** Nothing to do: the key is younger than `--if-older-than`. */
  Skipped: 6,
  /** A keyup bug (not your flags, not AWS): please report it with the printed message. */
  Internal: 7,
} as const;

/**
 * One of the values of {@link ExitCode}.
 *
 * @example
 * ```ts
 * const code: ExitCodeValue = ExitCode.Ok;
 * ```
 */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

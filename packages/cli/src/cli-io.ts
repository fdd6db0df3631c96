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
  /** True when stdout is a terminal and `NO_COLOR` is not set: colours the progress marks (the spinner also needs `interactive`). */
  readonly color?: boolean;
  /** Aborts a running rotation (Ctrl-C); the rotation then rolls back. */
  readonly signal?: AbortSignal;
  readonly now?: () => Date;
}

/** Where a benchmark reports how far it has got (stderr, so stdout carries only the figures). */
export interface Progress {
  tick(detail: string): void;
}

/**
 * Progress lines on stderr, each with the benchmark's name and the seconds since it started.
 *
 * @example
 * ```ts
 * const progress = stderrProgress("fleet");
 * progress.tick("concurrency 4, run 2/3"); // [fleet 12.3 s] concurrency 4, run 2/3
 * ```
 */
export function stderrProgress(name: string): Progress {
  const started = Date.now();
  return {
    tick(detail) {
      process.stderr.write(`[${name} ${((Date.now() - started) / 1000).toFixed(1)} s] ${detail}\n`);
    },
  };
}

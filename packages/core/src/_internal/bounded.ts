/**
 * Runs `tasks` with at most `limit` running at once, in the order given, and resolves when all have
 * settled. A task that rejects does not stop the others. `limit` may be a function, read each time a
 * task could start (an {@link AdaptiveLimit}'s `current`): a lower limit lets running tasks finish and
 * starts no new one until fewer run; a higher one starts more at the next task's end.
 *
 * Hand-written rather than p-limit: p-limit (4 and later) ships ESM only, so the CJS build would have
 * to bundle it, and its concurrency cannot follow a changing limit.
 *
 * @example
 * ```ts
 * await runBounded([() => rotateOne("a"), () => rotateOne("b"), () => rotateOne("c")], 2);
 * ```
 */
export function runBounded(tasks: readonly (() => Promise<void>)[], limit: number | (() => number)): Promise<void> {
  const allowed = typeof limit === "function" ? () => Math.max(1, limit()) : () => limit;
  return new Promise((resolve) => {
    let next = 0;
    let running = 0;
    const pump = () => {
      if (next >= tasks.length && running === 0) return resolve();
      while (next < tasks.length && running < allowed()) {
        const task = tasks[next++] as () => Promise<void>;
        running++;
        void Promise.resolve()
          .then(task)
          .catch(() => undefined)
          .then(() => {
            running--;
            pump();
          });
      }
    };
    pump();
  });
}

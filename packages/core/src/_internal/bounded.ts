/**
 * Runs `tasks` with at most `limit` running at once, in the order given, and resolves when all have
 * settled. A task that rejects does not stop the others.
 *
 * Hand-written rather than p-limit: p-limit (4 and later) ships ESM only, so the CJS build would have
 * to bundle it, and all the fleet needs is "these N tasks, K at a time", which a few workers pulling
 * from a shared index give exactly.
 */
export async function runBounded(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<void>;
      await task().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

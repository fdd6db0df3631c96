import { inject } from "vitest";

/**
 * The moto server of the worker running this file: the global setup starts one per worker and Vitest
 * numbers the workers running at one time 1..maxWorkers (`VITEST_POOL_ID`), so two files running side
 * by side never share (or reset) one emulator. Undefined in projects without the global setup.
 *
 * @example
 * ```ts
 * const url = currentMotoUrl();
 * if (url) await fetch(`${url}/moto-api/reset`, { method: "POST" });
 * ```
 */
export function currentMotoUrl(): string | undefined {
  const urls = inject("motoUrls");
  if (!urls || urls.length === 0) return undefined;
  const pool = Number(process.env.VITEST_POOL_ID ?? "1");
  return urls[(Math.max(pool, 1) - 1) % urls.length];
}

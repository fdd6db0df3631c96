/**
 * How many cases a fast-check property runs: `runs` in the normal suite, a fraction of it under
 * mutation testing. `pnpm mutate` reruns every property suite once per mutant (hundreds of times per
 * module), so vitest.mutate.config.ts sets `KEYUP_PROPERTY_RUNS_SCALE` (0.05 there); the normal suite
 * (`pnpm test`, `vitest run`) leaves it unset and runs every case. At least one case always runs.
 *
 * @example
 * ```ts
 * fc.assert(fc.property(file, key, check), { numRuns: propertyRuns(4_000) });
 * ```
 */
export function propertyRuns(runs: number): number {
  const scale = Number(process.env.KEYUP_PROPERTY_RUNS_SCALE ?? 1);
  if (!Number.isFinite(scale) || scale <= 0 || scale >= 1) return runs;
  return Math.max(1, Math.ceil(runs * scale));
}

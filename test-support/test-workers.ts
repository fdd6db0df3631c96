/**
 * How many test files run at once. Vitest's default on this 2-core machine is one (cores − 1), which
 * ran the whole suite one file after another although most of an integration test's time is spent
 * waiting: on child processes, on moto, on a rotation's backoff and verify windows. Each worker that
 * runs integration files gets a moto server of its own (test-support/moto-global-setup.ts), so files
 * that reset the emulator never see each other's state. `KEYUP_TEST_WORKERS` overrides the figure.
 *
 * @example
 * ```ts
 * export default defineConfig({ test: { maxWorkers: TEST_WORKERS } });
 * ```
 */
export const TEST_WORKERS = Math.max(1, Number(process.env.KEYUP_TEST_WORKERS ?? 3) || 3);

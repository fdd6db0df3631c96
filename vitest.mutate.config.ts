import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const packages = fileURLToPath(new URL("./packages/", import.meta.url));

// The vitest config Stryker runs (`pnpm mutate`): the unit tests only (no moto, no built CLI), so a
// mutant is judged in seconds. scripts/mutate.mjs names the test files of the module under mutation
// in KEYUP_MUTATE_TESTS (comma-separated globs).
const include = (process.env.KEYUP_MUTATE_TESTS ?? "packages/*/test/**/*.test.ts").split(",");
// Modules whose tests need the emulator (the rotation handler) set KEYUP_MUTATE_MOTO: one moto server
// for the whole Stryker run, integration files allowed.
const moto = process.env.KEYUP_MUTATE_MOTO === "1";

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@keyup\/core\/files$/, replacement: `${packages}core/src/files/index.ts` },
      { find: /^@keyup\/core\/machine$/, replacement: `${packages}core/src/machine/index.ts` },
      { find: /^@keyup\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` },
    ],
  },
  test: {
    include,
    exclude: moto ? ["**/node_modules/**"] : ["**/*.int.test.ts", "**/node_modules/**"],
    ...(moto ? { globalSetup: ["./test-support/moto-global-setup.ts"], fileParallelism: false, hookTimeout: 60_000 } : {}),
    // Property suites run a twentieth of their cases here (test-support/property-runs.ts): each
    // mutant reruns them, and the INI editor's 10,000 cases took 26 s a run at a load average of 2.5.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", KEYUP_PROPERTY_RUNS_SCALE: "0.05" },
    testTimeout: moto ? 120_000 : 30_000,
  },
});

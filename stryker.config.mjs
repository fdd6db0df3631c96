// StrykerJS for `pnpm mutate` (scripts/mutate.mjs picks the files to mutate and the tests to run).
const report = process.env.KEYUP_MUTATE_REPORT ?? "reports/mutation/all";

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.mutate.config.ts", related: false },
  coverageAnalysis: "perTest",
  reporters: ["clear-text", "progress-append-only", "json", "html"],
  jsonReporter: { fileName: `${report}.json` },
  htmlReporter: { fileName: `${report}.html` },
  // Two cores, shared: one test process leaves room for everything else.
  concurrency: 1,
  timeoutMS: 5_000,
  ignorePatterns: ["**/dist/**", "reports/**", ".stryker-tmp*", "docs/api/**", ".keyup-demo/**", "coverage/**"],
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};

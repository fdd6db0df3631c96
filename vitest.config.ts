import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { TEST_WORKERS } from "./test-support/test-workers.js";

const packages = fileURLToPath(new URL("./packages/", import.meta.url));

// Tests import every @keyup/* package from source (no build needed); the CLI end-to-end tests spawn
// the built bin instead.
const alias = [
  { find: /^@keyup\/core\/files$/, replacement: `${packages}core/src/files/index.ts` },
  { find: /^@keyup\/core\/machine$/, replacement: `${packages}core/src/machine/index.ts` },
  { find: /^@keyup\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` },
];

export default defineConfig({
  resolve: { alias },
  test: {
    setupFiles: ["./test-support/secrets-setup.ts", "./test-support/file-cpu-setup.ts"],
    // Files run side by side (test-support/test-workers.ts says why and how many).
    maxWorkers: TEST_WORKERS,
    // The SDK's notice about Node 20 support after 2027 is for developers choosing a runtime; in test
    // output it only buries the results.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          // Measured: the slowest unit tests (INI store cases that run the real `aws` CLI, the fast-check
          // suites, the child-process lock tests) take 2.3 s on an idle 2-core machine and 5.4 s at a
          // load average of 7; vitest's 5 s default failed them at random. 30 s is over 5x the loaded figure.
          testTimeout: 30_000,
          hookTimeout: 30_000,
          include: [
            "packages/*/test/**/*.test.ts",
            "examples/**/*.test.ts",
            "bench/**/*.test.ts",
            "scripts/test/**/*.test.ts",
            "test-support/test/**/*.test.ts",
          ],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
        },
      },
      {
        // Everything that talks to the emulator: one moto server per worker, so files run side by side
        // although tests reset the emulator's state between them; one at a time only when the run is
        // pointed at a single server (KEYUP_TEST_MOTO_URL: the realism proxy).
        extends: true,
        test: {
          name: "integration",
          include: ["packages/*/test/**/*.int.test.ts", "examples/**/*.int.test.ts", "bench/**/*.int.test.ts", "test-support/realism/**/*.int.test.ts"],
          globalSetup: ["./test-support/moto-global-setup.ts"],
          fileParallelism: !process.env.KEYUP_TEST_MOTO_URL,
          // Measured: the slowest integration test (five throttled rotations in a row through the CLI)
          // takes 15 s on an idle 2-core machine; 120 s leaves room for two busy processes beside it.
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        // What a user gets: the packed tarballs installed with npm, on every supported Node.js line,
        // the single executable, the release workflows. Each file starts its own moto where it needs
        // one, so the project runs beside the others; scripts/test.sh leaves it out of the second
        // run of the suite on Node 24, since it already covers every line itself.
        extends: true,
        test: {
          name: "release",
          include: ["scripts/release/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});

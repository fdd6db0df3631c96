import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const packages = fileURLToPath(new URL("./packages/", import.meta.url));

// Tests import every @keyup/* package from source (no build needed); the CLI end-to-end tests spawn
// the built bin instead.
const alias = [
  { find: /^@keyup\/core\/files$/, replacement: `${packages}core/src/files/index.ts` },
  { find: /^@keyup\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` },
];

export default defineConfig({
  resolve: { alias },
  test: {
    setupFiles: ["./test-support/secrets-setup.ts"],
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
          include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts", "bench/**/*.test.ts", "scripts/test/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
        },
      },
      {
        // Everything that talks to the emulator: one moto server per run, files run one at a time
        // because tests reset the emulator's state between them.
        extends: true,
        test: {
          name: "integration",
          include: ["packages/*/test/**/*.int.test.ts", "examples/**/*.int.test.ts", "bench/**/*.int.test.ts"],
          globalSetup: ["./test-support/moto-global-setup.ts"],
          fileParallelism: false,
          // Measured: the slowest integration test (five throttled rotations in a row through the CLI)
          // takes 15 s on an idle 2-core machine; 120 s leaves room for two busy processes beside it.
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

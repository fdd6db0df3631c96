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
          include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts", "bench/**/*.test.ts", "test-support/test/**/*.test.ts"],
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
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { defineConfig } from "tsup";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// One self-contained file for the Lambda: @keyup/* are workspace packages, and bundling the AWS SDK
// pins the version this repository tested instead of whatever the runtime ships.
// Build the workspace packages first (`pnpm build`), then `npx tsup --config <this file>`.
export default defineConfig({
  entry: { index: here("./index.ts") },
  outDir: here("./build"),
  format: ["cjs"],
  platform: "node",
  target: "node20",
  noExternal: [/.*/],
  splitting: false,
  sourcemap: false,
  clean: true,
  // CommonJS in index.js, and a package.json saying so: the examples folder is "type": "module", and the
  // Lambda runtime looks for index.js when the handler is index.handler.
  outExtension: () => ({ js: ".js" }),
  onSuccess: async () => writeFile(here("./build/package.json"), `${JSON.stringify({ type: "commonjs" })}\n`),
});

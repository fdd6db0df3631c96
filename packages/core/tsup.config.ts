import { defineConfig } from "tsup";

export default defineConfig({
  // The main entry, and `@keyup/core/files` for stores kept in files (not loaded by the main entry).
  entry: { index: "src/index.ts", files: "src/files/index.ts" },
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
});

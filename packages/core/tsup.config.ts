import { defineConfig } from "tsup";
import { library } from "../../tsup.base.js";

export default defineConfig({
  ...library,
  // The main entry, and `@keyup/core/files` for stores kept in files (not loaded by the main entry).
  entry: { index: "src/index.ts", files: "src/files/index.ts" },
});

import { defineConfig } from "tsup";
import { library } from "../../tsup.base.js";

export default defineConfig({
  ...library,
  // The main entry, `@keyup/core/files` for stores kept in files (not loaded by the main entry), and
  // `@keyup/core/machine` for shells that drive the state machine themselves.
  entry: { index: "src/index.ts", files: "src/files/index.ts", machine: "src/machine/index.ts" },
});

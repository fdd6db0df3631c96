import { defineConfig } from "tsup";
import { library } from "../../tsup.base.js";

export default defineConfig([
  library,
  {
    // The executable: ESM only, with its shebang kept by tsup.
    entry: { bin: "src/bin.ts" },
    format: ["esm"],
    sourcemap: true,
    target: library.target,
  },
]);

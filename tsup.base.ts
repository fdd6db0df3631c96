import type { Options } from "tsup";

/**
 * How every @keyup package is built: ESM and CommonJS with type declarations and source maps, for
 * Node 20. Each package's tsup.config.ts starts from this and changes only what differs (its entries).
 */
export const library: Options = {
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
};

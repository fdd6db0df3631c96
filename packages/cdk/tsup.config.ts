import { build, defineConfig } from "tsup";
import { library } from "../../tsup.base.js";

/**
 * The construct library, and the rotation handler it deploys: dist/handler/index.js, one CommonJS
 * file holding the handler, @keyup/store-secretsmanager (built first, as a workspace dependency) and
 * the AWS SDK version this repository tested, rather than whatever SDK the Lambda runtime ships. The
 * handler is built after the library, whose `clean` would otherwise remove it.
 */
export default defineConfig({
  ...library,
  // import.meta.url (where the bundle lies) in the CommonJS build too.
  shims: true,
  onSuccess: async () => {
    await build({
      entry: { index: "src/handler/lambda.ts" },
      outDir: "dist/handler",
      format: ["cjs"],
      platform: "node",
      target: "node20",
      noExternal: [/.*/],
      splitting: false,
      sourcemap: false,
      dts: false,
      clean: true,
      silent: true,
      // index.js, not index.cjs: the Lambda runtime looks for index.js for the handler index.handler,
      // and a package.json saying CommonJS so no "type": "module" above it applies.
      outExtension: () => ({ js: ".js" }),
      onSuccess: async () => {
        const { writeFile } = await import("node:fs/promises");
        await writeFile("dist/handler/package.json", `${JSON.stringify({ type: "commonjs" })}\n`);
      },
      config: false,
    });
  },
});

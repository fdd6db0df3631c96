import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { cleanEnv } from "./cli.js";
import { motoUrl } from "./moto.js";
import { captureOutput } from "./secrets.js";

const run = promisify(execFile);

/** The examples folder, where the example scripts run from. */
export const EXAMPLES_DIR = fileURLToPath(new URL("../examples/", import.meta.url));
const TSX = fileURLToPath(new URL("../examples/node_modules/.bin/tsx", import.meta.url));

/** How an example script ended, with everything it printed. */
export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript file of examples/ with tsx, as a user would: pointed at the test run's emulator,
 * with no ambient AWS credentials, only the settings given. Its output is captured for the secret scan.
 */
export async function runExampleScript(script: string, settings: Record<string, string>, args: readonly string[] = []): Promise<ScriptRun> {
  const env = cleanEnv({ AWS_ENDPOINT_URL: motoUrl(), AWS_REGION: "us-east-1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...settings });
  const outcome = await run(TSX, [script, ...args], { cwd: EXAMPLES_DIR, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string; message: string }) => ({
      code: typeof error.code === "number" ? error.code : 1,
      stdout: error.stdout ?? "",
      stderr: error.stderr ?? error.message,
    }),
  );
  captureOutput(`${[script, ...args].join(" ")} stdout`, outcome.stdout);
  captureOutput(`${[script, ...args].join(" ")} stderr`, outcome.stderr);
  return outcome;
}

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { cleanEnv } from "../cli.js";
import { captureOutput } from "../secrets.js";

const run = promisify(execFile);

/** What the `aws` CLI printed and how it exited. */
export interface AwsCliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real `aws` CLI against `endpoint` signed by `key` (a session when it has a token), with no
 * ambient credentials or config; its output goes to the suite-wide secret check.
 *
 * @example
 * ```ts
 * const out = await awsCli(proxy.url, key, ["sts", "get-caller-identity"]);
 * ```
 */
export async function awsCli(
  endpoint: string,
  key: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  args: readonly string[],
): Promise<AwsCliRun> {
  const env = cleanEnv({
    AWS_ACCESS_KEY_ID: key.accessKeyId,
    AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    ...(key.sessionToken ? { AWS_SESSION_TOKEN: key.sessionToken } : {}),
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/keyup-test-credentials",
    AWS_DEFAULT_REGION: "us-east-1",
    // One attempt: the tests look at what AWS answered, not at the CLI's retries.
    AWS_MAX_ATTEMPTS: "1",
  });
  const out = await run("aws", [...args, "--endpoint-url", endpoint, "--output", "json"], { env }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof e.code === "number" ? e.code : 1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    }),
  );
  captureOutput(`aws ${args.join(" ")} stdout`, out.stdout);
  captureOutput(`aws ${args.join(" ")} stderr`, out.stderr);
  return out;
}

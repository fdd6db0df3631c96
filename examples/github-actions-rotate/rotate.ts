/**
 * Rotate the AWS access key a GitHub workflow runs with, and write the new key back into the
 * repository's (or an environment's) Actions secrets. Run by rotate-aws-key.yml beside this file.
 *
 *   npx tsx github-actions-rotate/rotate.ts
 *
 * Reads: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the job's, from the secrets being rotated),
 * GH_SECRETS_TOKEN (a token that may write secrets and variables), GITHUB_REPOSITORY and
 * GITHUB_API_URL (set by GitHub Actions), KEYUP_ENVIRONMENT (optional: an environment's secrets),
 * KEYUP_MIN_AGE_DAYS (optional: rotate only a key at least this old), AWS_REGION, AWS_ENDPOINT_URL
 * (optional, for a local emulator).
 *
 * Exit codes follow the keyup command's: 0 rotated or nothing to do, 3 rotated with a warning,
 * 4 another rotation holds the lock, 5 a rollback failed, 2 configuration, 1 any other failure.
 */
import { rotate } from "@keyup/core";
import { githubActionsStore } from "@keyup/store-github-actions";

const [owner = "", repo = ""] = (process.env.GITHUB_REPOSITORY ?? "").split("/");
const minAgeDays = Number(process.env.KEYUP_MIN_AGE_DAYS ?? "0");

const store = githubActionsStore({
  owner,
  repo,
  ...(process.env.KEYUP_ENVIRONMENT ? { environment: process.env.KEYUP_ENVIRONMENT } : {}),
  token: process.env.GH_SECRETS_TOKEN ?? "",
  ...(process.env.GITHUB_API_URL ? { baseUrl: process.env.GITHUB_API_URL } : {}),
  // Secrets cannot be read back: the store learns the current key from the job's environment.
  current: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
});

const result = await rotate({
  store,
  ...(minAgeDays > 0 ? { minAgeMs: minAgeDays * 86_400_000 } : {}),
  ...(process.env.AWS_ENDPOINT_URL ? { endpoint: process.env.AWS_ENDPOINT_URL } : {}),
  onEvent: (event) => {
    if (event.type === "step") console.log(`${event.step.step}: ${event.step.status}${event.step.detail ? ` (${event.step.detail})` : ""}`);
  },
});

result.match(
  (report) => {
    console.log(`${report.outcome}: ${report.oldAccessKeyId} -> ${report.newAccessKeyId ?? "-"} (${store.name})`);
    for (const warning of report.warnings) console.log(`::warning::${warning}`);
    if (report.outcome === "completed-with-warnings") process.exitCode = 3;
  },
  (error) => {
    console.error(`::error::rotation failed (${error.kind}): ${error.message}`);
    for (const step of error.report?.manualSteps ?? []) console.error(`  to finish by hand: ${step}`);
    const codes: Record<string, number> = { config: 2, lock: 4, "rollback-failed": 5 };
    process.exitCode = codes[error.kind] ?? 1;
  },
);

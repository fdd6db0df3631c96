/**
 * Rotate the access key of one credentials-file profile from a CI job or cron, with progress on
 * stdout and a non-zero exit code on failure.
 *
 *   KEYUP_PROFILE=ci pnpm --filter @keyup/examples exec tsx ci-rotate/rotate.ts
 *
 * Reads: KEYUP_PROFILE (default "default"), AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials),
 * AWS_ENDPOINT_URL (optional, for a local emulator), AWS_REGION (optional).
 */
import { rotate } from "@keyup/core";
import { iniStore } from "@keyup/store-ini";

const profile = process.env.KEYUP_PROFILE ?? "default";

const result = await rotate({
  store: iniStore({ profile }),
  ...(process.env.AWS_ENDPOINT_URL ? { endpoint: process.env.AWS_ENDPOINT_URL } : {}),
  onEvent: (event) => {
    if (event.type === "step") console.log(`${event.step.step}: ${event.step.status}${event.step.detail ? ` (${event.step.detail})` : ""}`);
  },
});

result.match(
  (report) => {
    console.log(`rotated ${report.userName}: ${report.oldAccessKeyId} -> ${report.newAccessKeyId} in ${report.durationMs} ms`);
    for (const warning of report.warnings) console.warn(`warning: ${warning}`);
  },
  (error) => {
    console.error(`rotation failed (${error.kind}): ${error.message}`);
    for (const step of error.report?.manualSteps ?? []) console.error(`  to finish by hand: ${step}`);
    process.exitCode = 1;
  },
);

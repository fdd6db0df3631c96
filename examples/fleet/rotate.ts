/**
 * Rotate every profile of one credentials file, a few at a time, and print one row per profile.
 * Profiles holding the same key are rotated once, together; one profile failing never stops the
 * others. Exit code 1 when any profile failed; no secret is ever printed.
 *
 *   KEYUP_CONCURRENCY=4 pnpm --filter @keyup/examples exec tsx fleet/rotate.ts
 *
 * Reads: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials), KEYUP_PROFILES (optional,
 * comma-separated; default every profile of the file holding a long-term key), KEYUP_CONCURRENCY
 * (default 8), AWS_ENDPOINT_URL (optional, for a local emulator), AWS_REGION.
 */
import { readFile } from "node:fs/promises";
import { formatFleetTable, type RotationOutcome, rotateMany } from "@keyup/core";
import { type IniStore, iniStore } from "@keyup/store-ini";
import { parse as parseIni } from "ini";

const env = process.env;
// iniStore resolves the file as the AWS SDK does (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials).
const path = iniStore({ profile: "default" }).path;

/** Profiles holding an access key; those with a session token hold temporary credentials, which cannot be rotated. */
function profilesWithKeys(text: string): string[] {
  const sections = parseIni(text.replace(/^\uFEFF/, "")) as Record<string, unknown>;
  return Object.entries(sections)
    .filter((entry): entry is [string, Record<string, unknown>] => typeof entry[1] === "object" && entry[1] !== null)
    .filter(([, values]) => {
      const names = Object.keys(values).map((k) => k.toLowerCase());
      return names.includes("aws_access_key_id") && !names.includes("aws_session_token");
    })
    .map(([name]) => name);
}

let stores: IniStore[];
try {
  const profiles = env.KEYUP_PROFILES ? env.KEYUP_PROFILES.split(",").map((p) => p.trim()) : profilesWithKeys(await readFile(path, "utf8"));
  // iniStore refuses a profile name that cannot be a section of the file (empty, brackets, newlines).
  stores = profiles.map((profile) => iniStore({ profile, path }));
} catch (error) {
  console.error(`cannot start: ${(error as Error).message}`);
  process.exit(1);
}
if (stores.length === 0) {
  console.error(`no profile in ${path} holds an access key`);
  process.exit(1);
}

/** How each outcome is flagged in the progress lines; the failed ones all read FAIL. */
const MARKS: Partial<Record<RotationOutcome, string>> = { rotated: "ok  ", skipped: "skip", "completed-with-warnings": "warn" };

// At most this many at once; the fleet runs fewer while IAM throttles it.
const concurrency = Number(env.KEYUP_CONCURRENCY ?? 8);
console.log(`rotating ${stores.length} profiles of ${path}, ${concurrency} at a time`);
const result = await rotateMany({
  stores,
  concurrency,
  ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
  // A line as each profile finishes, so a long fleet shows progress before the table.
  onResult: (r) => console.log(`  ${MARKS[r.outcome] ?? "FAIL"} ${r.store.slice(r.store.lastIndexOf("#") + 1)}: ${r.outcome}`),
});

if (result.isErr()) {
  // Options wrong for the whole fleet (a bad concurrency, a profile named twice): nothing was touched.
  console.error(`fleet not started (${result.error.kind}): ${result.error.message}`);
  process.exit(1);
}
const report = result.value;
console.log(`\n${formatFleetTable(report)}`);
if (report.failed > 0) process.exitCode = 1;

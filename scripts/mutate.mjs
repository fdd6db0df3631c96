// `pnpm mutate [module...]`: mutation testing with StrykerJS (vitest runner) on the modules below, one
// Stryker run per module so each gets its own score. Without arguments it runs the default modules;
// `pnpm mutate all` adds the state machine and the rotation handler (slower, and being rewritten).
// Reports land in reports/mutation/<module>.{json,html}; the last line per module is its score.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

const MODULES = {
  "ini-editor": {
    mutate: ["packages/store-ini/src/ini-editor.ts", "packages/store-ini/src/_internal/**/*.ts"],
    tests: ["packages/store-ini/test/ini-editor*.test.ts"],
  },
  "env-editor": { mutate: ["packages/store-env/src/env-editor.ts"], tests: ["packages/store-env/test/env-editor.test.ts"] },
  journal: { mutate: ["packages/core/src/journal.ts"], tests: ["packages/core/test/journal.test.ts", "packages/core/test/journal-format.test.ts"] },
  files: {
    mutate: ["packages/core/src/files/**/*.ts", "!packages/core/src/files/index.ts"],
    tests: ["packages/core/test/files*.test.ts", "packages/store-*/test/*.test.ts", "packages/store-env/test/env-lock.test.ts"],
  },
  machine: { mutate: ["packages/core/src/machine/**/*.ts"], tests: ["packages/core/test/*.test.ts"] },
  "rotation-handler": {
    mutate: ["packages/store-secretsmanager/src/rotation-handler.ts"],
    tests: ["packages/store-secretsmanager/test/*.test.ts"],
  },
};
const DEFAULT = ["ini-editor", "env-editor", "journal", "files"];

const asked = process.argv.slice(2);
const names = asked.length === 0 ? DEFAULT : asked.includes("all") ? Object.keys(MODULES) : asked;
const unknown = names.filter((n) => !MODULES[n]);
if (unknown.length > 0) {
  console.error(`unknown module(s): ${unknown.join(", ")}; known: ${Object.keys(MODULES).join(", ")}, all`);
  process.exit(2);
}

const scores = [];
let failed = false;
for (const name of names) {
  const { mutate, tests } = MODULES[name];
  const report = `reports/mutation/${name}`;
  // Incremental: a rerun tests only the mutants whose code or tests changed since the last report.
  const incremental = ["--incremental", "--incrementalFile", `${report}.incremental.json`];
  const run = spawnSync("stryker", ["run", "stryker.config.mjs", "--mutate", mutate.join(","), ...incremental], {
    stdio: "inherit",
    env: { ...process.env, KEYUP_MUTATE_TESTS: tests.join(","), KEYUP_MUTATE_REPORT: report },
  });
  if (run.status !== 0 || !existsSync(`${report}.json`)) {
    failed = true;
    scores.push(`${name}: stryker failed (exit ${run.status})`);
    continue;
  }
  const files = JSON.parse(readFileSync(`${report}.json`, "utf8")).files;
  const count = { killed: 0, survived: 0, noCoverage: 0, timeout: 0, other: 0 };
  for (const file of Object.values(files)) {
    for (const m of file.mutants) {
      if (m.status === "Killed") count.killed++;
      else if (m.status === "Survived") count.survived++;
      else if (m.status === "NoCoverage") count.noCoverage++;
      else if (m.status === "Timeout") count.timeout++;
      else count.other++;
    }
  }
  // Stryker's score: detected (killed + timeout) over valid mutants (detected + survived + no coverage).
  const detected = count.killed + count.timeout;
  const valid = detected + count.survived + count.noCoverage;
  const score = valid === 0 ? 0 : (100 * detected) / valid;
  scores.push(
    `${name}: ${score.toFixed(1)} % (${count.killed} killed, ${count.timeout} timed out, ${count.survived} survived, ${count.noCoverage} not covered)`,
  );
}
console.log(`\nmutation scores\n${scores.map((s) => `  ${s}`).join("\n")}`);
process.exit(failed ? 1 : 0);

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
  "env-editor": {
    mutate: ["packages/store-env/src/env-editor.ts", "packages/store-env/src/env-scan.ts"],
    tests: [
      "packages/store-env/test/env-editor.test.ts",
      "packages/store-env/test/env-scan.test.ts",
      "packages/store-env/test/env-edit-check.test.ts",
      "packages/store-env/test/env-edit-locality.test.ts",
    ],
  },
  journal: {
    mutate: ["packages/core/src/journal.ts"],
    tests: ["packages/core/test/journal.test.ts", "packages/core/test/journal-format.test.ts", "packages/core/test/another-local-user.test.ts"],
  },
  files: {
    mutate: ["packages/core/src/files/**/*.ts", "!packages/core/src/files/index.ts"],
    // The kit's own fast tests, one file per source file, on real files in one process. Not the
    // conformance suites (define-file-store.test.ts, the stores'): their cross-process lock cases start
    // child processes, 4-20 s each, which made a run of this module about 3 h at a load average of ~19.
    tests: [
      "packages/core/test/file-store.test.ts",
      "packages/core/test/file-lock.test.ts",
      "packages/core/test/files.test.ts",
      "packages/core/test/replace-file.test.ts",
      "packages/core/test/own-folder.test.ts",
      "packages/core/test/another-local-user.test.ts",
      "packages/core/test/bind-mounted-file.test.ts",
      "packages/core/test/symlinked-lock-folder.test.ts",
      "packages/core/test/decode-utf8.test.ts",
      "packages/core/test/splice-text.test.ts",
      "packages/core/test/ascii-bytes.test.ts",
      "packages/core/test/read-bytes.test.ts",
    ],
  },
  // The machine's own tests: transition() and its helpers driven directly, importing only
  // @keyup/core/machine (pure; they load in a second). Not the rest of core/test: the runner's,
  // rotate()'s, rotateMany()'s and the journal's tests reach the machine too, but load @keyup/core and
  // with it the AWS SDK (seconds per run under load), and Stryker runs every test again for each of
  // the ~230 static mutants (the phase specs are module-level objects): hours, not minutes.
  machine: {
    mutate: ["packages/core/src/machine/**/*.ts"],
    tests: ["packages/core/test/transition*.test.ts", "packages/core/test/phase-table.test.ts"],
  },
  // The handler's tests run it against moto (Secrets Manager, IAM and STS), so this module's run starts
  // one moto server (KEYUP_MUTATE_MOTO). Not rotation-handler-crash.int.test.ts: it runs the handler
  // in child processes (a bundle Stryker's active mutant does not reach), about 80 of them, so it
  // would cost minutes per mutant and could kill none.
  "rotation-handler": {
    mutate: ["packages/store-secretsmanager/src/rotation-handler.ts"],
    tests: [
      "packages/store-secretsmanager/test/rotation-handler.int.test.ts",
      "packages/store-secretsmanager/test/rotation-handler-checks.int.test.ts",
      "packages/store-secretsmanager/test/rotation-handler-errors.int.test.ts",
    ],
    moto: true,
  },
};
const DEFAULT = ["ini-editor", "env-editor", "journal", "files"];

// Arguments starting with `--` go to Stryker as they are (`pnpm mutate env-editor --concurrency 2`).
const args = process.argv.slice(2);
const passed = [];
for (let i = 0; i < args.length; i++) {
  if (!args[i].startsWith("--")) continue;
  passed.push(args[i]);
  if (!args[i].includes("=") && args[i + 1] !== undefined && !args[i + 1].startsWith("--") && !MODULES[args[i + 1]]) passed.push(args[++i]);
}
const asked = args.filter((a) => !passed.includes(a));
const names = asked.length === 0 ? DEFAULT : asked.includes("all") ? Object.keys(MODULES) : asked;
const unknown = names.filter((n) => !MODULES[n]);
if (unknown.length > 0) {
  console.error(`unknown module(s): ${unknown.join(", ")}; known: ${Object.keys(MODULES).join(", ")}, all`);
  process.exit(2);
}

const scores = [];
let failed = false;
for (const name of names) {
  const { mutate, tests, moto = false } = MODULES[name];
  const report = `reports/mutation/${name}`;
  // Incremental: a rerun tests only the mutants whose code or tests changed since the last report.
  const incremental = ["--incremental", "--incrementalFile", `${report}.incremental.json`];
  const run = spawnSync("stryker", ["run", "stryker.config.mjs", "--mutate", mutate.join(","), ...incremental, ...passed], {
    stdio: "inherit",
    env: { ...process.env, KEYUP_MUTATE_TESTS: tests.join(","), KEYUP_MUTATE_REPORT: report, ...(moto ? { KEYUP_MUTATE_MOTO: "1" } : {}) },
  });
  if (run.status !== 0 || !existsSync(`${report}.json`)) {
    failed = true;
    scores.push(`${name}: stryker failed (exit ${run.status})`);
    continue;
  }
  const { files, testFiles = {} } = JSON.parse(readFileSync(`${report}.json`, "utf8"));
  // A test file that fails to load (an import Stryker's sandbox cannot resolve: it has no dist/)
  // counts as no tests for Stryker's vitest runner, silently; that hid journal-format.test.ts once.
  // So every test glob of the module must have given Stryker at least one test.
  const ran = Object.entries(testFiles)
    .filter(([, f]) => f.tests.length > 0)
    .map(([path]) => path);
  const silent = tests.filter((glob) => !ran.some((path) => globToRegExp(glob).test(path)));
  if (silent.length > 0) {
    failed = true;
    scores.push(`${name}: no test ran from ${silent.join(", ")} (does the file load in Stryker's sandbox?)`);
    continue;
  }
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

/** `*` within a path segment, `**` across segments; enough for the globs above. */
function globToRegExp(glob) {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(/\*\*\//g, "(?:.*/)?").replace(/\*/g, "[^/]*")}$`);
}

// Runs vitest once for the whole workspace and ends with a plain "N passed, N failed" line, so any
// reader of the log (people, CI) sees the totals without knowing vitest's format.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { cpuSeconds, projectFigures, recordSuiteRun, slowestFiles } from "./suite-runs.mjs";
import { countFailed } from "./test-summary.mjs";

const results = ".vitest-results.json";
const scan = ".vitest-secret-scan.jsonl";
const fileCpu = ".vitest-file-cpu.jsonl";
rmSync(results, { force: true });
rmSync(scan, { force: true });
rmSync(fileCpu, { force: true });
const started = Date.now();
const loadStart = Number(loadavg()[0].toFixed(2));
const run = spawnSync("vitest", ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${results}`, ...process.argv.slice(2)], {
  stdio: "inherit",
  shell: false,
  env: { ...process.env, KEYUP_SECRET_SCAN_FILE: scan, KEYUP_FILE_CPU_FILE: fileCpu },
});
// vitest has exited and been waited for: its CPU time, and its reaped children's, is in ours now.
const cpu = cpuSeconds();
if (cpu !== undefined) {
  const cores = cpus().length;
  console.log(`\ncpu: ${cpu} s user + system over ${cores} cores, at least ${Math.round(cpu / cores)} s of wall time however the files are spread`);
}
const cpuByFile = new Map();
if (existsSync(fileCpu)) {
  for (const line of readFileSync(fileCpu, "utf8").split("\n").filter(Boolean)) {
    const { file, cpuSeconds: seconds } = JSON.parse(line);
    cpuByFile.set(file, (cpuByFile.get(file) ?? 0) + seconds);
  }
}
if (existsSync(scan)) {
  const lines = readFileSync(scan, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const sum = (k) => lines.reduce((n, l) => n + (l[k] ?? 0), 0);
  // Files and holders are counted apart: a holder (journal, backup) is checked for mode 0600, not read.
  // Planted hits are the scan's own test proving each channel; only real hits fail the run.
  console.log(
    `\nsecret scan: ${sum("texts")} captured outputs (${sum("files")} of them files left by tests) searched for the secrets known at each test (${sum("secrets")} checks, any 16-character piece), ${sum("holders")} secret-holding files mode-checked, ${sum("hits")} hits (${sum("planted")} planted leaks caught by the scan's own test)`,
  );
}
if (existsSync(results)) {
  const r = JSON.parse(readFileSync(results, "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  const failed = countFailed(r);
  console.log(`\nvitest: ${r.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  recordSuiteRun({
    kind: "vitest",
    args: process.argv.slice(2).join(" "),
    seconds: Math.round((Date.now() - started) / 1000),
    loadStart,
    passed: r.numPassedTests,
    failed,
    ...(cpu !== undefined ? { cpuSeconds: cpu } : {}),
    slowest: slowestFiles(r, 8),
    ...projectFigures(r, cpuByFile, 8),
  });
} else {
  console.log("\nvitest: 0 passed, 1 failed (no results were written)");
  recordSuiteRun({
    kind: "vitest",
    args: process.argv.slice(2).join(" "),
    seconds: Math.round((Date.now() - started) / 1000),
    loadStart,
    passed: 0,
    failed: 1,
    ...(cpu !== undefined ? { cpuSeconds: cpu } : {}),
  });
}
process.exit(run.status ?? 1);

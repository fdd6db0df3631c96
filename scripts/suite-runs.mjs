// A record of how long the suite took on this machine: scripts/run-tests.mjs appends one line per
// vitest run and scripts/test.sh one per whole run, to reports/suite-runs.jsonl (not committed: the
// figures belong to the machine). `pnpm bench --only 8` turns the last of them into docs/benchmarks.md's
// section on the suite, so the published figure is the one a run measured, not one copied by hand.
import { appendFileSync, mkdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, relative } from "node:path";

/** Where the records go, relative to the repository's root (the scripts run from there). */
export const SUITE_RUNS = "reports/suite-runs.jsonl";

/**
 * Appends one record, stamped with the time, the Node.js line, the core count and the load average
 * now, and how many busy loops scripts/suite-under-load.sh runs beside the suite (0 otherwise).
 */
export function recordSuiteRun(entry, file = SUITE_RUNS) {
  mkdirSync(dirname(file), { recursive: true });
  const line = {
    at: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    busyLoops: Number(process.env.KEYUP_BUSY_LOOPS ?? 0),
    loadEnd: Number(loadavg()[0].toFixed(2)),
    ...entry,
  };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

/** The `n` test files that took longest in a vitest JSON report, in seconds, paths from `root`. */
export function slowestFiles(report, n, root = process.cwd()) {
  return (report.testResults ?? [])
    .map((f) => ({ file: relative(root, f.name), seconds: Number(((f.endTime - f.startTime) / 1000).toFixed(1)) }))
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, n);
}

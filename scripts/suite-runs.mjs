// A record of how long the suite took on this machine: scripts/run-tests.mjs appends one line per
// vitest run and scripts/test.sh one per whole run, to reports/suite-runs.jsonl (not committed: the
// figures belong to the machine). `pnpm bench --only 8` turns the last of them into docs/benchmarks.md's
// section on the suite, so the published figure is the one a run measured, not one copied by hand.
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
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

/**
 * The CPU time (user + system, seconds) this process and the children it has waited for have used:
 * /proc/self/stat's utime, stime, cutime and cstime. A child's figure includes its own waited-for
 * children, so after `spawnSync` it covers vitest, its workers and what they spawned and reaped (the
 * CLI under test, the aws CLI, moto servers stopped by their test). `undefined` without /proc.
 */
export function cpuSeconds(stat = "/proc/self/stat") {
  let text;
  try {
    text = readFileSync(stat, "utf8");
  } catch {
    return undefined;
  }
  // The command name, in parentheses, may hold spaces: the fields are counted after its ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // utime is the 14th field, the 12th after the name and the state.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? Number.NaN), 0);
  return Number.isFinite(ticks) ? Number((ticks / clockTicks()).toFixed(1)) : undefined;
}

let ticksPerSecond;
function clockTicks() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Which vitest project (vitest.config.ts) a test file belongs to, from its path. */
export function projectOf(file) {
  if (file.startsWith("scripts/release/")) return "release";
  return file.endsWith(".int.test.ts") ? "integration" : "unit";
}

/**
 * Per project: how many files ran, the sum of their wall times (files run side by side, so it is more
 * than the run's wall time) and, when test-support/file-cpu-setup.ts recorded it, the sum of their CPU
 * times; plus the `n` files that used the most CPU. `cpuByFile` maps a path from `root` to seconds.
 */
export function projectFigures(report, cpuByFile, n, root = process.cwd()) {
  const projects = {};
  for (const f of report.testResults ?? []) {
    const file = relative(root, f.name);
    const name = projectOf(file);
    projects[name] ??= { files: 0, fileSeconds: 0, cpuSeconds: 0 };
    const project = projects[name];
    project.files += 1;
    project.fileSeconds = Number((project.fileSeconds + (f.endTime - f.startTime) / 1000).toFixed(1));
    project.cpuSeconds = Number((project.cpuSeconds + (cpuByFile.get(file) ?? 0)).toFixed(1));
  }
  const mostCpu = [...cpuByFile]
    .map(([file, seconds]) => ({ file, seconds: Number(seconds.toFixed(1)) }))
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, n);
  return { projects, mostCpu };
}

import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
// @ts-expect-error: a plain .mjs script without types; its record is what readSuiteRuns reads back.
import { cpuSeconds, projectFigures, projectOf, recordSuiteRun, slowestFiles } from "../scripts/suite-runs.mjs";
import { renderSuite, SUITE_GOAL_SECONDS } from "./report.js";
import { readSuiteRuns, type SuiteRun } from "./suite.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const base = { node: "v20.20.2", cores: 2, loadStart: 2.1, loadEnd: 3.4 };
const vitestRun = (at: string, busyLoops: number, failed: number): SuiteRun => ({
  ...base,
  at,
  busyLoops,
  kind: "vitest",
  seconds: 700,
  passed: 2100 - failed,
  failed,
  slowest: [{ file: "packages/cli/test/hostile-input.int.test.ts", seconds: 115 }],
});

test("what scripts/suite-runs.mjs records, readSuiteRuns reads back, slowest files first", async () => {
  const dir = await mkdtemp(join(tmpdir(), "keyup-suite-"));
  dirs.push(dir);
  const file = join(dir, "reports", "suite-runs.jsonl");
  const report = {
    testResults: [
      { name: join(dir, "a.test.ts"), startTime: 0, endTime: 1500 },
      { name: join(dir, "b.test.ts"), startTime: 0, endTime: 9000 },
    ],
  };
  recordSuiteRun({ kind: "vitest", seconds: 12, passed: 3, failed: 0, slowest: slowestFiles(report, 1, dir) }, file);
  recordSuiteRun({ kind: "test.sh", seconds: 300, steps: { setup: 10 } }, file);
  const runs = await readSuiteRuns(file);
  expect(runs.map((r) => r.kind)).toEqual(["vitest", "test.sh"]);
  expect(runs[0]?.slowest).toEqual([{ file: "b.test.ts", seconds: 9 }]);
  expect(runs[0]?.node).toBe(process.version);
  expect(await readSuiteRuns(join(dir, "none.jsonl"))).toEqual([]);
  await writeFile(file, "\n");
  expect(await readSuiteRuns(file)).toEqual([]);
});

test("the suite's section judges the goal on the latest whole run and says by how much it is missed", () => {
  const md = renderSuite([
    { ...base, at: "2026-11-30T10:00:00Z", busyLoops: 0, kind: "test.sh", seconds: 200, steps: { setup: 5 } },
    { ...base, at: "2026-11-30T12:00:00Z", busyLoops: 2, kind: "test.sh", seconds: 1200, steps: { setup: 20, suite: 800, node24: 300, lintDocs: 80 } },
  ]);
  expect(md).toContain(
    `within ${SUITE_GOAL_SECONDS / 60} min on 2 cores: **missed** (the latest whole run took 20 min 0 s, 5.0× the goal, beside 2 busy loops)`,
  );
  expect(renderSuite([{ ...base, at: "2026-11-30T10:00:00Z", busyLoops: 0, kind: "test.sh", seconds: 200 }])).toContain("on 2 cores: met (");
});

test("three whole runs in a row beside two busy loops are reported, and a failed one is not called a pass", () => {
  const three = [vitestRun("2026-11-30T10:00:00Z", 2, 0), vitestRun("2026-11-30T10:20:00Z", 2, 0), vitestRun("2026-11-30T10:40:00Z", 2, 0)];
  expect(renderSuite(three)).toContain(
    "The last three whole runs of the suite in a row, each with two CPU-bound processes beside it (as `bash scripts/suite-under-load.sh` runs them; 2026-11-30 10:00 to 2026-11-30 10:40), passed: 2100 passed, 0 failed in",
  );
  const oneFailed = [...three.slice(0, 2), vitestRun("2026-11-30T10:40:00Z", 2, 1)];
  expect(renderSuite(oneFailed)).toContain("did not all pass");
  const idle = vitestRun("2026-11-30T11:00:00Z", 0, 0);
  // A run on an idle machine between loaded runs breaks the row; two loaded runs are not three.
  expect(renderSuite([three[0] as SuiteRun, idle, ...three.slice(1)])).toContain("No three whole runs in a row beside two busy loops");
  expect(renderSuite([...three.slice(1), idle])).toContain("No three whole runs in a row beside two busy loops");
  // An idle run after the row (measuring the suite) does not hide it, and the section says it came later.
  expect(renderSuite([...three, idle])).toContain("2026-11-30 10:00 to 2026-11-30 10:40, 1 whole run without busy loops since), passed: 2100 passed");
  // A failed loaded run after three passing ones is the end of the latest row: never hidden behind them.
  expect(renderSuite([...three, vitestRun("2026-11-30T11:00:00Z", 2, 1)])).toContain("did not all pass");
  expect(renderSuite(three)).toContain("`packages/cli/test/hostile-input.int.test.ts` 1 min 55 s");
});

test("with nothing recorded, the section says how to record it instead of inventing a figure", () => {
  expect(renderSuite([])).toContain("No run of the suite is recorded on this machine");
});

test("cpuSeconds reads utime + stime + cutime + cstime from a /proc stat line, a command name with spaces and parentheses included", async () => {
  const dir = await mkdtemp(join(tmpdir(), "keyup-suite-"));
  dirs.push(dir);
  const hz = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  const stat = join(dir, "stat");
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority …
  await writeFile(stat, `4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 200 0 0 ${3 * hz} ${hz} ${20 * hz} ${6 * hz} 20 0 11 0\n`);
  expect(cpuSeconds(stat)).toBe(30);
  expect(cpuSeconds(join(dir, "none"))).toBeUndefined();
  await writeFile(stat, "4242 (node) S 1\n");
  expect(cpuSeconds(stat)).toBeUndefined();
  expect(cpuSeconds()).toBeGreaterThan(0);
});

test("projectFigures: files, summed file time and CPU per vitest project, and the files that used the most CPU", () => {
  const root = "/repo";
  const file = (name: string, seconds: number) => ({ name: join(root, name), startTime: 0, endTime: seconds * 1000 });
  const report = {
    testResults: [
      file("packages/core/test/a.test.ts", 2),
      file("packages/cli/test/b.int.test.ts", 30),
      file("packages/cli/test/c.int.test.ts", 12.5),
      file("scripts/release/pack.test.ts", 100),
    ],
  };
  const cpu = new Map([
    ["packages/core/test/a.test.ts", 1.5],
    ["packages/cli/test/b.int.test.ts", 40],
    ["packages/cli/test/c.int.test.ts", 8.25],
  ]);
  expect(projectFigures(report, cpu, 2, root)).toEqual({
    projects: {
      unit: { files: 1, fileSeconds: 2, cpuSeconds: 1.5 },
      integration: { files: 2, fileSeconds: 42.5, cpuSeconds: 48.3 },
      release: { files: 1, fileSeconds: 100, cpuSeconds: 0 },
    },
    mostCpu: [
      { file: "packages/cli/test/b.int.test.ts", seconds: 40 },
      { file: "packages/cli/test/c.int.test.ts", seconds: 8.3 },
    ],
  });
  expect(["bench/bench.int.test.ts", "bench/suite.test.ts", "scripts/release/x.test.ts"].map(projectOf)).toEqual(["integration", "unit", "release"]);
});

test("the suite's section prints the CPU time and the CPU floor beside each wall time, and says how far the goal is below the floor", () => {
  const wholeRun: SuiteRun = {
    ...base,
    at: "2026-11-30T12:00:00Z",
    busyLoops: 0,
    kind: "test.sh",
    seconds: 1260,
    steps: { setup: 12, suite: 900, node24: 300, lintDocs: 48 },
    cpuSeconds: 1800,
    stepsCpu: { setup: 4, suite: 1300, node24: 440, lintDocs: 56 },
  };
  const vitestWhole: SuiteRun = {
    ...vitestRun("2026-11-30T11:40:00Z", 0, 0),
    cpuSeconds: 1290,
    projects: { unit: { files: 100, fileSeconds: 400, cpuSeconds: 500 }, integration: { files: 40, fileSeconds: 1500, cpuSeconds: 700 } },
    mostCpu: [{ file: "packages/cli/test/hostile-input.int.test.ts", seconds: 95 }],
  };
  const md = renderSuite([vitestWhole, wholeRun]);
  expect(md).toContain("| when (UTC) | busy loops | load start → end | total | CPU | CPU floor | setup | `pnpm test` | Node 24 rerun | lint + docs |");
  expect(md).toContain(
    "| 2026-11-30 12:00 | 0 | 2.1 → 3.4 | 21 min 0 s | 30 min 0 s | 15 min 0 s | 12 s (CPU 4 s) | 15 min 0 s (CPU 21 min 40 s) | 5 min 0 s (CPU 7 min 20 s) | 48 s (CPU 56 s) |",
  );
  expect(md).toContain("It used 30 min 0 s of CPU");
  expect(md).toContain("on 2 cores it cannot take less than 15 min 0 s (the CPU floor; the wall time is 1.4× it");
  expect(md).toContain("The goal is 11 min 0 s below that floor (the floor is 3.8× the goal): no scheduling meets it, only less CPU work.");
  expect(md).toContain("| wall time | CPU | CPU floor | passed | failed |");
  expect(md).toContain("| 11 min 40 s | 21 min 30 s | 10 min 45 s | 2100 | 0 |");
  expect(md).toContain("unit 100 files, file time 6 min 40 s, CPU 8 min 20 s; integration 40 files, file time 25 min 0 s, CPU 11 min 40 s.");
  expect(md).toContain("The files that used the most CPU: `packages/cli/test/hostile-input.int.test.ts` 1 min 35 s.");
  // A floor under the goal: the wall time is waiting, not CPU.
  expect(renderSuite([{ ...wholeRun, cpuSeconds: 300 }])).toContain(
    "The floor is within the goal (0.63× it): what separates the run from the goal is waiting, not CPU.",
  );
  // Runs recorded before CPU was: no CPU figures, no note, the table keeps its columns.
  const old = renderSuite([{ ...wholeRun, cpuSeconds: undefined, stepsCpu: undefined }]);
  expect(old).not.toContain("It used");
  expect(old).toContain("| 2026-11-30 12:00 | 0 | 2.1 → 3.4 | 21 min 0 s |  |  | 12 s | 15 min 0 s | 5 min 0 s | 48 s |");
});

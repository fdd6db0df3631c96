import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
// @ts-expect-error: a plain .mjs script without types; its record is what readSuiteRuns reads back.
import { recordSuiteRun, slowestFiles } from "../scripts/suite-runs.mjs";
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
  expect(renderSuite(three)).toContain("as `bash scripts/suite-under-load.sh` runs them), passed: 2100 passed, 0 failed in");
  const oneFailed = [...three.slice(0, 2), vitestRun("2026-11-30T10:40:00Z", 2, 1)];
  expect(renderSuite(oneFailed)).toContain("did not all pass");
  // A run on an idle machine last breaks the row of three loaded runs.
  expect(renderSuite([...three.slice(1), vitestRun("2026-11-30T11:00:00Z", 0, 0)])).toContain("No three whole runs beside two busy loops");
  expect(renderSuite(three)).toContain("`packages/cli/test/hostile-input.int.test.ts` 1 min 55 s");
});

test("with nothing recorded, the section says how to record it instead of inventing a figure", () => {
  expect(renderSuite([])).toContain("No run of the suite is recorded on this machine");
});

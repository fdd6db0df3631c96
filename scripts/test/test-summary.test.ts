import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { countFailed } from "../test-summary.mjs";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** Runs a real child vitest on one fixture file and returns the JSON report it wrote. */
function reportOf(fixture: string): unknown {
  const out = join(mkdtempSync(join(tmpdir(), "keyup-summary-")), "report.json");
  spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL("../../node_modules/vitest/vitest.mjs", import.meta.url)),
      "run",
      "--root",
      fixtures,
      fixture,
      "--reporter=json",
      `--outputFile=${out}`,
    ],
    { cwd: fixtures, stdio: "ignore", env: { ...process.env, KEYUP_SECRET_SCAN_FILE: "" } },
  );
  return JSON.parse(readFileSync(out, "utf8"));
}

it("one failing test nested two describes deep counts as 1 failed, not one per describe block", () => {
  const report = reportOf("nested-failure.fixture.ts") as { numFailedTests: number; numFailedTestSuites: number };
  expect(report.numFailedTestSuites).toBeGreaterThan(1); // what made the old summary print "3 failed"
  expect(countFailed(report)).toBe(1);
});

it("a file whose beforeAll fails counts as 1 failed although none of its tests ran", () => {
  const report = reportOf("broken-hook.fixture.ts") as { numFailedTests: number };
  expect(report.numFailedTests).toBe(0);
  expect(countFailed(report)).toBe(1);
});

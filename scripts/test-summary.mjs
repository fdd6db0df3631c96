// Counting what a vitest JSON report says, for the one-line summary scripts/run-tests.mjs prints.
/**
 * Failed tests, counted once each. vitest's numFailedTestSuites counts every describe block around a
 * failed test too (one failure nested two deep read "3 failed"), so it is not added; a file that fails
 * before any of its tests ran (an import error, a failing beforeAll) counts as one failure.
 */
export function countFailed(report) {
  let failed = 0;
  for (const file of report.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    const failedTests = tests.filter((t) => t.status === "failed").length;
    failed += failedTests > 0 ? failedTests : file.status === "failed" ? 1 : 0;
  }
  return failed;
}

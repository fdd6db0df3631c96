import { spawnSync } from "node:child_process";

/** What cfn-lint said about a template: its exit status and every finding, one per line. */
export interface CfnLintResult {
  readonly status: number | null;
  readonly output: string;
}

// cfn-lint's own entry point, for a python3 that has the package but no `cfn-lint` on PATH.
const PYTHON_ENTRY = "import sys; from cfnlint.runner import main; sys.exit(main())";

/**
 * Runs cfn-lint (the CloudFormation linter, preinstalled in python3 on keyup's machines; scripts/setup.sh
 * says when it is missing) on template files, in one process (it takes seconds to start). Exit status 0
 * means no error, warning or informational finding; any finding makes it non-zero, and its line starts
 * with the template's path. Throws when cfn-lint is not installed at all, so a missing linter fails the
 * test instead of passing it.
 *
 * @example
 * ```ts
 * expect(cfnLint("examples/secretsmanager-rotation-lambda/template.yaml")).toEqual({ status: 0, output: "" });
 * ```
 */
export function cfnLint(...templatePaths: string[]): CfnLintResult {
  const args = ["--format", "parseable", "--", ...templatePaths];
  let run = spawnSync("cfn-lint", args, { encoding: "utf8" });
  if (run.error) run = spawnSync("python3", ["-c", PYTHON_ENTRY, ...args], { encoding: "utf8" });
  if (run.error || /No module named .?cfnlint/.test(run.stderr ?? "")) {
    throw new Error("cfn-lint is not installed: pip install cfn-lint (scripts/setup.sh checks for it)");
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

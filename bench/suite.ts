import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** One line of reports/suite-runs.jsonl, as scripts/suite-runs.mjs writes it. */
export interface SuiteRun {
  readonly at: string;
  readonly node: string;
  readonly cores: number;
  /** CPU-bound processes beside the suite (scripts/suite-under-load.sh runs two). */
  readonly busyLoops: number;
  readonly loadStart?: number;
  readonly loadEnd?: number;
  /** `vitest` for one run of scripts/run-tests.mjs, `test.sh` for the whole README test command. */
  readonly kind: "vitest" | "test.sh";
  readonly seconds: number;
  readonly args?: string;
  readonly passed?: number;
  readonly failed?: number;
  readonly slowest?: readonly { readonly file: string; readonly seconds: number }[];
  readonly steps?: Readonly<Record<string, number>>;
}

/**
 * The suite's runs recorded on this machine, oldest first; none when the file does not exist (a clone
 * that never ran the suite).
 *
 * @example
 * ```ts
 * const runs = await readSuiteRuns("reports/suite-runs.jsonl");
 * ```
 */
export async function readSuiteRuns(file: string): Promise<SuiteRun[]> {
  if (!existsSync(file)) return [];
  return (await readFile(file, "utf8"))
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as SuiteRun);
}

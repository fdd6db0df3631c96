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
  /** CPU time (user + system) of the run and every process it waited for, in seconds. */
  readonly cpuSeconds?: number;
  /** `test.sh`: each step's CPU time, in seconds, keyed like `steps`. */
  readonly stepsCpu?: Readonly<Record<string, number>>;
  /** `vitest`: per project, the files run, the sum of their wall times and of their CPU times. */
  readonly projects?: Readonly<Record<string, { readonly files: number; readonly fileSeconds: number; readonly cpuSeconds: number }>>;
  /** `vitest`: the files that used the most CPU (their process and its reaped children), in seconds. */
  readonly mostCpu?: readonly { readonly file: string; readonly seconds: number }[];
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

import { appendFile } from "node:fs/promises";
import { relative } from "node:path";
import { afterAll } from "vitest";
// @ts-expect-error: a plain .mjs script without types (scripts/suite-runs.mjs).
import { cpuSeconds } from "../scripts/suite-runs.mjs";

// How much CPU each test file used, for docs/benchmarks.md's section on the suite: scripts/run-tests.mjs
// sets KEYUP_FILE_CPU_FILE and sums the lines per project. A setup file runs in the worker process
// before each test file, so the difference of the worker's CPU time (its own, and its children's once
// reaped: the CLI under test, the aws CLI, a moto the file started) between here and the file's end is
// the file's, imports included. Outside scripts/run-tests.mjs nothing is measured.
const target = process.env.KEYUP_FILE_CPU_FILE;
const started: number | undefined = target ? cpuSeconds() : undefined;

// vitest hands hooks their fixtures first, and refuses a first parameter that does not destructure them.
// biome-ignore lint/correctness/noEmptyPattern: no fixture is used, the suite (second) is.
afterAll(async ({}, suite) => {
  if (!target || started === undefined) return;
  const ended: number | undefined = cpuSeconds();
  const path = suite.file?.filepath;
  if (ended === undefined || !path) return;
  await appendFile(target, `${JSON.stringify({ file: relative(process.cwd(), path), cpuSeconds: Number((ended - started).toFixed(1)) })}\n`);
});

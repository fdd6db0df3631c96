import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { cleanEnv, KEYUP_BIN } from "../test-support/cli.js";
import { benchDir, seedCredentialsFile } from "./fixtures.js";
import type { Progress } from "./progress.js";

/** One command's fresh processes: wall time and, where /usr/bin/time exists, CPU time (user + system), in ms. */
export interface ColdSamples {
  readonly wall: readonly number[];
  readonly cpu: readonly number[];
}

/**
 * Benchmark 5's pairs, each a new Node process per run, run in turn inside each round so that load on
 * the machine falls on both sides of a ratio alike: `node -e 0` beside `keyup --help` and `--version`,
 * and a hand-written SDK script (bench/list-by-hand.mjs) beside `keyup list`.
 */
export interface CliColdResult {
  readonly node: ColdSamples;
  readonly help: ColdSamples;
  readonly version: ColdSamples;
  readonly list: ColdSamples;
  readonly listByHand: ColdSamples;
}

const TIME = "/usr/bin/time";

/** Runs `node ...args` to completion; wall time here, CPU time from /usr/bin/time when present. */
async function timed(args: readonly string[], env: NodeJS.ProcessEnv, cpuFile: string): Promise<{ wall: number; cpu?: number }> {
  const withTime = existsSync(TIME);
  const [file, argv] = withTime ? [TIME, ["-f", "%U %S", "-o", cpuFile, process.execPath, ...args]] : [process.execPath, [...args]];
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    execFile(file, argv, { env, cwd: import.meta.dirname }, (error, _stdout, stderr) =>
      error ? reject(new Error(`node ${args.slice(0, 3).join(" ")} failed: ${String(stderr).slice(0, 300)}`)) : resolve(),
    );
  });
  const wall = performance.now() - started;
  if (!withTime) return { wall };
  const [user, system] = (await readFile(cpuFile, "utf8")).trim().split(/\s+/).slice(-2).map(Number);
  return { wall, cpu: ((user ?? 0) + (system ?? 0)) * 1000 };
}

/**
 * `runs` rounds of five fresh processes: `node -e 0`, `keyup --help`, `keyup --version`,
 * `keyup --profile p1 --operation list` and the hand-written list, both against the emulator.
 */
export async function benchCliCold(url: string, runs: number, progress: Progress): Promise<CliColdResult> {
  const dir = await benchDir();
  const file = await seedCredentialsFile(url, dir, 1);
  const env = cleanEnv({ HOME: dir, AWS_REGION: "us-east-1", AWS_SHARED_CREDENTIALS_FILE: file.path, AWS_CONFIG_FILE: join(dir, "config") });
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const cpuFile = join(dir, "cpu");
  const commands: Record<keyof CliColdResult, { args: readonly string[]; env: NodeJS.ProcessEnv }> = {
    node: { args: ["-e", "0"], env },
    help: { args: [KEYUP_BIN, "--help"], env },
    version: { args: [KEYUP_BIN, "--version"], env },
    list: { args: [KEYUP_BIN, "--profile", "p1", "--operation", "list", "--endpoint-url", url], env },
    listByHand: { args: [join(import.meta.dirname, "list-by-hand.mjs"), url], env: { ...env, AWS_PROFILE: "p1" } },
  };
  const samples = Object.fromEntries(Object.keys(commands).map((k) => [k, { wall: [] as number[], cpu: [] as number[] }])) as Record<
    keyof CliColdResult,
    { wall: number[]; cpu: number[] }
  >;
  try {
    for (let i = 0; i < runs; i++) {
      for (const [name, command] of Object.entries(commands) as [keyof CliColdResult, (typeof commands)[keyof CliColdResult]][]) {
        const run = await timed(command.args, command.env, cpuFile);
        samples[name].wall.push(run.wall);
        if (run.cpu !== undefined) samples[name].cpu.push(run.cpu);
      }
      progress.tick(`round ${i + 1}/${runs}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return samples;
}

import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { keyup } from "../test-support/cli.js";
import { benchDir, seedCredentialsFile } from "./fixtures.js";
import type { Progress } from "./progress.js";

/** Wall times of fresh `keyup` processes, in ms. */
export interface CliColdResult {
  readonly help: readonly number[];
  readonly list: readonly number[];
}

/**
 * `keyup --help` and `keyup --profile p1 --operation list` (against the emulator, no proxy), each a new
 * Node process `runs` times: start-up, module loading and, for list, its AWS calls.
 */
export async function benchCliCold(url: string, runs: number, progress: Progress): Promise<CliColdResult> {
  const dir = await benchDir();
  const file = await seedCredentialsFile(url, dir, 1);
  const env = { HOME: dir, AWS_REGION: "us-east-1", AWS_SHARED_CREDENTIALS_FILE: file.path, AWS_CONFIG_FILE: join(dir, "config") };
  const help: number[] = [];
  const list: number[] = [];
  for (let i = 0; i < runs; i++) {
    let started = performance.now();
    let run = await keyup(["--help"], env);
    help.push(performance.now() - started);
    if (run.code !== 0) throw new Error(`keyup --help exited ${run.code}`);
    started = performance.now();
    run = await keyup(["--profile", "p1", "--operation", "list", "--endpoint-url", url], env);
    list.push(performance.now() - started);
    if (run.code !== 0) throw new Error(`keyup list exited ${run.code}: ${run.stderr.slice(0, 300)}`);
    progress.tick(`run ${i + 1}/${runs}`);
  }
  return { help, list };
}

import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { awsErrorXml, startAwsProxy } from "../test-support/aws-proxy.js";
import { keyup } from "../test-support/cli.js";
import { benchDir, seedCredentialsFile } from "./fixtures.js";
import type { Progress } from "./progress.js";
import { seededRandom } from "./stats.js";

/** One fleet run: how many profiles rotated or failed, in what wall time, and how many requests were throttled. */
export interface FleetRun {
  readonly concurrency: number;
  readonly wallMs: number;
  readonly rotated: number;
  readonly failed: number;
  readonly warnings: number;
  readonly requests: number;
  readonly throttled: number;
}

/**
 * `keyup --all-profiles --operation up --concurrency N` as a child process on a file of `profiles`
 * profiles (one IAM user each), through a proxy that answers `throttleRate` of all requests with IAM's
 * `Throttling` error, chosen by a seeded generator so every run meets the same pattern.
 */
export async function benchFleet(
  url: string,
  options: { profiles: number; concurrencies: readonly number[]; runs: number; throttleRate: number },
  progress: Progress,
): Promise<FleetRun[]> {
  const out: FleetRun[] = [];
  for (let i = 0; i < options.runs; i++) {
    for (const concurrency of options.concurrencies) {
      const dir = await benchDir();
      const file = await seedCredentialsFile(url, dir, options.profiles);
      const random = seededRandom(1000 + i);
      let throttled = 0;
      const proxy = await startAwsProxy(url, () => {
        if (random() >= options.throttleRate) return undefined;
        throttled++;
        return { status: 400, body: awsErrorXml("Throttling", "Rate exceeded") };
      });
      try {
        const started = performance.now();
        const { code, stdout, stderr } = await keyup(
          ["--all-profiles", "--operation", "up", "--concurrency", String(concurrency), "--output", "json", "--endpoint-url", proxy.url],
          { HOME: dir, AWS_REGION: "us-east-1", AWS_SHARED_CREDENTIALS_FILE: file.path, AWS_CONFIG_FILE: join(dir, "config") },
        );
        const wallMs = performance.now() - started;
        let report: { rotated: number; failed: number; warnings: number };
        try {
          report = JSON.parse(stdout);
        } catch {
          throw new Error(`keyup exited ${code} without a JSON report: ${stderr.slice(0, 500)}`);
        }
        const run = {
          concurrency,
          wallMs,
          rotated: report.rotated,
          failed: report.failed,
          warnings: report.warnings,
          requests: proxy.requests.length,
          throttled,
        };
        out.push(run);
        progress.tick(
          `run ${i + 1}/${options.runs}, concurrency ${concurrency}: ${(wallMs / 1000).toFixed(2)} s, ${run.rotated} rotated, ${run.failed} failed, ${throttled}/${run.requests} requests throttled`,
        );
      } finally {
        await proxy.close();
      }
    }
  }
  return out;
}

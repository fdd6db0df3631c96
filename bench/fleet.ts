import { readFileSync } from "node:fs";
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
  /**
   * CPU time spent during the run, in ms: by the CLI (the child process), the emulator and the
   * throttling proxy (this process). Absent where /proc cannot tell (not Linux, or no emulator pid).
   */
  readonly cpuMs?: { readonly cli: number; readonly emulator: number; readonly proxy: number };
}

/** CPU time of a process (utime + stime), or of its reaped children, in ms, from /proc; undefined elsewhere. */
function cpuOf(pid: number | "self", children = false): number | undefined {
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th, the
    // reaped children's cutime and cstime the 14th and 15th, in clock ticks (100 a second on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    const [user, system] = children ? [fields[13], fields[14]] : [fields[11], fields[12]];
    return user === undefined || system === undefined ? undefined : (Number(user) + Number(system)) * 10;
  } catch {
    return undefined;
  }
}

/**
 * `keyup --all-profiles --operation up --concurrency N` as a child process on a file of `profiles`
 * profiles (one IAM user each), through a proxy that answers `throttleRate` of all requests with IAM's
 * `Throttling` error, chosen by a seeded generator so every run meets the same pattern.
 */
export async function benchFleet(
  url: string,
  options: { profiles: number; concurrencies: readonly number[]; runs: number; throttleRate: number; emulatorPid?: number },
  progress: Progress,
): Promise<FleetRun[]> {
  const out: FleetRun[] = [];
  for (let i = 0; i < options.runs; i++) {
    for (const concurrency of options.concurrencies) {
      const dir = await benchDir();
      const file = await seedCredentialsFile(url, dir, options.profiles);
      const random = seededRandom(1000 + i);
      let throttled = 0;
      // Connections kept open as AWS keeps them (moto answers `Connection: close`): otherwise every
      // request of the fleet opens a new one, which a fleet against AWS does not.
      const proxy = await startAwsProxy(
        url,
        () => {
          if (random() >= options.throttleRate) return undefined;
          throttled++;
          return { status: 400, body: awsErrorXml("Throttling", "Rate exceeded") };
        },
        { keepAlive: true },
      );
      try {
        const cpuBefore = { cli: cpuOf("self", true), emulator: options.emulatorPid ? cpuOf(options.emulatorPid) : undefined, proxy: process.cpuUsage() };
        const started = performance.now();
        const { code, stdout, stderr } = await keyup(
          ["--all-profiles", "--operation", "up", "--concurrency", String(concurrency), "--output", "json", "--endpoint-url", proxy.url],
          { HOME: dir, AWS_REGION: "us-east-1", AWS_SHARED_CREDENTIALS_FILE: file.path, AWS_CONFIG_FILE: join(dir, "config") },
        );
        const wallMs = performance.now() - started;
        const cli = cpuOf("self", true);
        const emulator = options.emulatorPid ? cpuOf(options.emulatorPid) : undefined;
        const proxyCpu = process.cpuUsage(cpuBefore.proxy);
        const cpuMs =
          cli !== undefined && cpuBefore.cli !== undefined && emulator !== undefined && cpuBefore.emulator !== undefined
            ? { cli: cli - cpuBefore.cli, emulator: emulator - cpuBefore.emulator, proxy: (proxyCpu.user + proxyCpu.system) / 1000 }
            : undefined;
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
          ...(cpuMs ? { cpuMs } : {}),
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

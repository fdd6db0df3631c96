/**
 * `pnpm bench`: keyup's benchmarks against one local moto server. Figures go to stdout as Markdown
 * tables and, unless --out is "-", to docs/benchmarks.md with the propagation chart beside it.
 * Progress goes to stderr.
 *
 *   pnpm bench                 every benchmark, full run counts (about 10 minutes on 2 cores)
 *   pnpm bench --quick         one run each, smaller fleet: checks the benchmarks work (about 1 minute)
 *   pnpm bench --only 2,4      some of them
 *   pnpm bench --only 3 --concurrencies 4,8   the fleet at some concurrencies only
 *   pnpm bench --only 8        the suite's time, from what ./scripts/test.sh last recorded (runs nothing)
 *
 * With --only, the sections measured replace their namesakes in docs/benchmarks.md, each stamped with
 * the date, command and load; the other sections are left as they were.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, release, type } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startMoto } from "../test-support/emulator.js";
import { benchCliCold } from "./cli-cold.js";
import { benchFleet } from "./fleet.js";
import { benchEnvStore, benchIniStore } from "./ini-store.js";
import { benchPeers } from "./peer.js";
import { stderrProgress } from "./progress.js";
import { benchPropagation } from "./propagation.js";
import { type BenchResults, renderMarkdown, renderPropagationChart, spliceSections } from "./report.js";
import { benchServicePropagation, SERVICE_DELAYS } from "./service-propagation.js";
import { readSuiteRuns } from "./suite.js";
import { benchVersusHandWritten } from "./versus-hand-written.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    out: { type: "string" },
    concurrencies: { type: "string" },
  },
});
const quick = values.quick ?? false;
const only = new Set((values.only ?? "1,2,3,4,5,6,7,8").split(",").map((s) => Number(s.trim())));
for (const n of only) if (![1, 2, 3, 4, 5, 6, 7, 8].includes(n)) throw new Error(`--only takes benchmark numbers 1 to 8, not ${n}`);
const root = resolve(import.meta.dirname, "..");
// A quick run checks the benchmarks work; its figures are not worth publishing unless asked.
const out = values.out ?? (quick ? "-" : join(root, "docs", "benchmarks.md"));

const plan = quick
  ? {
      versusRuns: 3,
      delaysMs: [0, 3000],
      propagationRuns: 1,
      fleetProfiles: 20,
      concurrencies: [1, 4],
      fleetRuns: 1,
      iniSizes: [10, 1000],
      iniRuns: 3,
      envVariables: 1000,
      cliRuns: 3,
      peerDelaysMs: [0, 3000],
      peerRuns: 1,
      serviceRuns: 1,
    }
  : {
      versusRuns: 15,
      delaysMs: [0, 3000, 8000],
      propagationRuns: 3,
      fleetProfiles: 100,
      concurrencies: [1, 2, 4, 8, 12, 16],
      fleetRuns: 3,
      iniSizes: [10, 1000, 20000],
      iniRuns: 15,
      // About the size of the largest credentials file (3 MiB).
      envVariables: 80000,
      cliRuns: 10,
      peerDelaysMs: [0, 3000],
      peerRuns: 3,
      serviceRuns: 3,
    };
const concurrencies = values.concurrencies ? values.concurrencies.split(",").map((s) => Number(s.trim())) : plan.concurrencies;

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const moto = await startMoto();
process.on("exit", () => moto.stop());
const motoVersion = execFileSync("python3", ["-c", "import moto; print(moto.__version__)"], { encoding: "utf8" }).trim();

const results: { -readonly [K in keyof BenchResults]: BenchResults[K] } = {
  machine: {
    cpu: cpus()[0]?.model.trim() ?? "unknown CPU",
    cores: cpus().length,
    node: process.version,
    moto: motoVersion,
    os: `${type()} ${release()}`,
    date: new Date().toISOString().slice(0, 10),
  },
  command: `pnpm bench${quick ? " --quick" : ""}${values.only ? ` --only ${values.only}` : ""}${values.concurrencies ? ` --concurrencies ${values.concurrencies}` : ""}`,
  load: (await import("node:os")).loadavg()[0] as number,
};

try {
  if (only.has(1)) results.versus = await benchVersusHandWritten(moto.url, plan.versusRuns, stderrProgress("1 rotate() vs script"));
  if (only.has(2)) results.propagation = await benchPropagation(moto.url, plan.delaysMs, plan.propagationRuns, stderrProgress("2 propagation"));
  if (only.has(3)) {
    const runs = await benchFleet(
      moto.url,
      { profiles: plan.fleetProfiles, concurrencies, runs: plan.fleetRuns, throttleRate: 0.05, emulatorPid: moto.pid },
      stderrProgress("3 fleet"),
    );
    results.fleet = { profiles: plan.fleetProfiles, throttleRate: 0.05, runs };
  }
  if (only.has(4)) {
    results.ini = await benchIniStore(plan.iniSizes, plan.iniRuns, stderrProgress("4 ini store"));
    results.env = await benchEnvStore(plan.envVariables, plan.iniRuns, stderrProgress("4 env store"));
  }
  if (only.has(5)) results.cli = await benchCliCold(moto.url, plan.cliRuns, stderrProgress("5 cli"));
  if (only.has(6)) results.peers = await benchPeers(moto.url, plan.peerDelaysMs, plan.peerRuns, stderrProgress("6 peers"));
  if (only.has(7))
    results.servicePropagation = await benchServicePropagation(moto.url, SERVICE_DELAYS, plan.serviceRuns, stderrProgress("7 per-service propagation"));
  // Not run here: the suite's own runs, as scripts/test.sh and scripts/run-tests.mjs recorded them.
  if (only.has(8)) results.suite = await readSuiteRuns(join(root, "reports", "suite-runs.jsonl"));
} finally {
  moto.stop();
}

const chart = out === "-" || !results.propagation ? undefined : join(dirname(out), `${basename(out, ".md")}-propagation.svg`);
const markdown = renderMarkdown(results, chart ? basename(chart) : undefined);
process.stdout.write(markdown);
if (out !== "-") {
  await mkdir(dirname(out), { recursive: true });
  // A partial run replaces only its own sections: the others keep the figures of the run that made them.
  const partial = values.only !== undefined && existsSync(out);
  const stamp = `Measured on ${results.machine.date} with \`${results.command}\`${results.load !== undefined ? `, load average ${results.load.toFixed(1)} at the start` : ""}.`;
  await writeFile(out, partial ? spliceSections(await readFile(out, "utf8"), markdown, stamp) : markdown);
  if (chart && results.propagation) await writeFile(chart, renderPropagationChart(results.propagation));
  process.stderr.write(`\nwrote ${out}${chart ? ` and ${chart}` : ""}\n`);
}

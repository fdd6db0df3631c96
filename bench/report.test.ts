import { expect, test } from "vitest";
import type { PropagationRun } from "./propagation.js";
import { type BenchResults, propagationMedians, renderMarkdown, renderPropagationChart, spliceSections } from "./report.js";
import type { ServicePropagationRun } from "./service-propagation.js";

const machine = { cpu: "Test CPU", cores: 2, node: "v20.0.0", moto: "5.2.1", os: "Linux", date: "2026-11-22" };

const propagation: PropagationRun[] = [0, 3000, 8000].flatMap((delayMs) => [
  { strategy: "keyup" as const, delayMs, totalMs: delayMs + 600 },
  { strategy: "keyup" as const, delayMs, totalMs: delayMs + 800 },
  { strategy: "keyup" as const, delayMs, totalMs: delayMs + 5000 },
  { strategy: "poll-2s" as const, delayMs, totalMs: delayMs + 1500 },
  { strategy: "fixed-sleep" as const, delayMs, totalMs: 10_100 },
]);

const results: BenchResults = {
  machine,
  command: "pnpm bench",
  versus: {
    runs: 3,
    keyupMs: [330, 310, 320],
    handMs: [290, 280, 300],
    keyupRequests: { GetCallerIdentity: 3, ListAccessKeys: 1 },
    handRequests: { GetCallerIdentity: 3, ListAccessKeys: 1 },
  },
  propagation,
  fleet: {
    profiles: 100,
    throttleRate: 0.05,
    runs: [
      { concurrency: 1, wallMs: 40_000, rotated: 100, failed: 0, warnings: 0, requests: 850, throttled: 40 },
      { concurrency: 12, wallMs: 9_000, rotated: 99, failed: 1, warnings: 0, requests: 850, throttled: 40 },
    ],
  },
  ini: [
    {
      profiles: 10,
      fileBytes: 1500,
      readMs: 1,
      writeMs: 2,
      cycleMs: 5,
      floorMs: 3,
      differingBytes: 54,
      changedRegionBytes: 80,
      iniRewriteMs: 1,
      iniChangedRegionBytes: 1400,
      commentLines: 11,
      iniCommentLinesKept: 0,
    },
  ],
  cli: {
    node: { wall: [100, 110, 120], cpu: [90, 100, 110] },
    help: { wall: [170, 160, 200], cpu: [120, 130, 140] },
    version: { wall: [130, 120, 140], cpu: [120, 120, 130] },
    listByHand: { wall: [400, 420, 440], cpu: [300, 310, 320] },
    list: { wall: [600, 620, 640], cpu: [500, 520, 540] },
  },
};

test("medians per strategy and delay, in strategy order", () => {
  const medians = propagationMedians(propagation);
  expect(medians.filter((m) => m.strategy === "keyup").map((m) => m.medianMs)).toEqual([800, 3800, 8800]);
  expect(medians.map((m) => m.strategy)).toEqual(["keyup", "keyup", "keyup", "poll-2s", "poll-2s", "poll-2s", "fixed-sleep", "fixed-sleep", "fixed-sleep"]);
});

test("the Markdown has a section per benchmark and judges each goal from the figures", () => {
  const md = renderMarkdown(results, "chart.svg");
  for (const heading of ["## 1.", "## 2.", "## 3.", "## 4.", "## 5."]) expect(md).toContain(heading);
  // 320 / 290 = 1.10: within 1.2.
  expect(md).toContain("Goal: keyup within 1.2× of the script: met (1.10×)");
  // The worst keyup median beyond D is 800 ms.
  expect(md).toContain("met (at most 800 ms after D)");
  expect(md).toContain("| keyup (backoff 200 ms → 500 ms cap, 2 successes) | 800 ms (+800 ms) | 3.80 s (+800 ms) | 8.80 s (+800 ms) |");
  // 40 s at concurrency 1 misses 10 s; at 12 (the default) the time is met but one profile failed, so the goal is missed too.
  // The request rate is requests per run over the median wall time: 850 / 40 s and 850 / 9 s.
  expect(md).toContain("| 1 | 40.00 s | 1.00× | 100/100 | 0 | 40/850 | 21 |  |  | **missed** |");
  expect(md).toContain("| 12 (default) | 9.00 s | 4.44× | 99/100 | 1 | 40/850 | 94 |  |  | **missed** |");
  expect(md).toContain("`read()` ≤ 20 ms: met (1 ms); store cycle ≤ 60 ms: met (5 ms, 1.7× the 3 ms floor)");
  expect(md).toContain("| 10 | 1.5 KiB | 1 ms | 2 ms | 5 ms | 3 ms | 54 | 80 B | 1 ms | 1.4 KiB | 0 of 11 |");
  // help: wall 170/110 = 1.55×, CPU 130/100 = 1.30×; judged on the steadier (lower) ratio.
  expect(md).toContain("| `keyup --help` | 170 ms | 160 ms | 1.55× | 130 ms | 1.30× |");
  expect(md).toContain("within 1.5× `node -e 0`: met");
  expect(md).toContain("within 2× the hand-written script: met");
  expect(md).toContain("![Rotation time against propagation delay D](chart.svg)");
});

test("a goal the figures miss is reported as missed", () => {
  const slow = renderMarkdown({ machine, command: "pnpm bench", versus: { ...results.versus!, keyupMs: [400] } });
  expect(slow).toContain("Goal: keyup within 1.2× of the script: **missed** (1.38×)");
  expect(slow).not.toContain("## 2.");
  const cli = results.cli!;
  const slowCli = renderMarkdown({ machine, command: "pnpm bench", cli: { ...cli, help: { wall: [400], cpu: [300] } } });
  expect(slowCli).toContain("within 1.5× `node -e 0`: **missed**");
});

test("the chart plots one line per strategy through its medians", () => {
  const svg = renderPropagationChart(propagation);
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => (m[1] ?? "").split(" ").map((p) => p.split(",").map(Number)));
  expect(lines).toHaveLength(3);
  for (const points of lines) {
    expect(points).toHaveLength(3);
    // x grows with D.
    expect(points.map(([x]) => x)).toEqual([...points.map(([x]) => x)].sort((a, b) => (a ?? 0) - (b ?? 0)));
  }
  // keyup's line rises with D (SVG y decreases upwards); the fixed sleep's is flat.
  const [keyup, , fixed] = lines;
  expect((keyup?.[2]?.[1] ?? 0) < (keyup?.[0]?.[1] ?? 0)).toBe(true);
  expect(new Set(fixed?.map(([, y]) => y)).size).toBe(1);
  for (const label of ["keyup", "poll every 2 s", "fixed 10 s sleep"]) expect(svg).toContain(`>${label}</text>`);
});

const serviceRun = (label: string, stsMs: number, iamMs: number, endMs: number): ServicePropagationRun => ({
  label,
  propagation: { stsMs, iamMs },
  wallMs: endMs + 200,
  verifyMs: endMs - 100,
  iamValidMs: iamMs,
  bothValidMs: Math.max(stsMs, iamMs),
  endMs,
  refusedSts: 4,
  refusedIam: 2,
  retrySteps: 7,
  outcome: "rotated",
});

test("per-service propagation: a row per (Ds, Di), the time after IAM and after both, and the goal judged per run", () => {
  const runs = [
    serviceRun("Ds 2 s, Di 5 s", 2000, 5000, 5400),
    serviceRun("Ds 2 s, Di 5 s", 2000, 5000, 5600),
    serviceRun("Ds 2 s, Di 5 s", 2000, 5000, 5500),
    serviceRun("Ds 5 s, Di 2 s", 5000, 2000, 5600),
  ];
  const md = renderMarkdown({ machine, command: "pnpm bench --only 7", servicePropagation: runs });
  expect(md).toContain("## 7. Propagation under per-service delays");
  expect(md).toContain("| Ds 2 s, Di 5 s | 3/3 | 5.70 s | 5.40 s | +500 ms | +500 ms | 4 / 2 | 7 |");
  // IAM accepted the key at 2 s, STS at 5 s: 3.6 s after IAM, 600 ms after both.
  expect(md).toContain("| Ds 5 s, Di 2 s | 1/1 | 5.80 s | 5.50 s | +3.60 s | +600 ms | 4 / 2 | 7 |");
  // Judged on the median per row (500 ms, 3.60 s), the worst run shown beside it.
  expect(md).toContain(
    "within 1 s of the new key becoming valid on IAM: **missed** in 1 of 2 rows (median per row: +500 ms, +3.60 s; worst run per row: +600 ms, +3.60 s)",
  );
});

test("a partial run replaces only its own sections, inserts new ones in order, and keeps the rest byte for byte", () => {
  const existing = "# Benchmarks\n\nintro, hand-edited\n\n## 1. one\n\nold one\n\n## 2. two\n\nold two\n\n## 6. six\n\nold six\n";
  const rendered = "# Benchmarks\n\ngenerated intro\n\n## 2. two\n\nnew two\n\n## 7. seven\n\nnew seven\n";
  expect(spliceSections(existing, rendered, "Measured today.")).toBe(
    "# Benchmarks\n\nintro, hand-edited\n\n## 1. one\n\nold one\n\n## 2. two\n\nnew two\n\nMeasured today.\n\n## 6. six\n\nold six\n\n## 7. seven\n\nnew seven\n\nMeasured today.\n",
  );
  // Splicing what is already there changes nothing.
  expect(spliceSections(existing, existing)).toBe(existing);
});

test("the fleet's section sets its wall time beside the CPU floor, and says why the goal is missed", () => {
  const run = (wallMs: number, cli: number, emulator: number) => ({
    concurrency: 12,
    wallMs,
    rotated: 100,
    failed: 0,
    warnings: 0,
    requests: 945,
    throttled: 45,
    cpuMs: { cli, emulator, proxy: 1000 },
  });
  const fleet = (runs: ReturnType<typeof run>[]) =>
    renderMarkdown({ machine, command: "pnpm bench --only 3", fleet: { profiles: 100, throttleRate: 0.05, runs } });
  // 9 s of CLI + 12 s of emulator + 1 s of proxy on 2 cores: a floor of 11 s, over the goal.
  const bound = fleet([run(13_000, 9000, 12_000)]);
  expect(bound).toContain("| 9.00 s / 12.00 s / 1.00 s | 11.00 s | **missed** |");
  expect(bound).toContain("keyup's CLI 9.00 s (90 ms a profile)");
  expect(bound).toContain("its floor is 11.00 s and its median wall time 1.18× that. The floor alone is over the 10 s goal");
  expect(bound).toContain("would need 4.50 s of the 2 cores");
  // The CLI's one thread is a floor of its own, said beside the machine's.
  expect(bound).toContain(
    "its own CPU time (9.00 s, a little of it on helper threads: file I/O, hashing, garbage collection) is nearly a floor of its own, below the machine's",
  );
  expect(fleet([run(12_000, 9000, 2000)])).toContain("is nearly a floor of its own, above the machine's");
  // A floor under the goal: the time missed is waiting, not work.
  const waiting = fleet([run(12_000, 5000, 6000)]);
  expect(waiting).toContain("The goal is missed by 2.00 s; the floor is under 10 s");
  expect(fleet([run(9000, 5000, 6000)])).toContain("The goal is met.");
  // Without CPU figures (not Linux), no floor is claimed.
  const { cpuMs: _, ...noCpu } = run(13_000, 1, 1);
  expect(fleet([noCpu as ReturnType<typeof run>])).not.toContain("CPU floor is");
});

test("the store's section counts the cycle's first touches of memory when the bench measured them, and says nothing of them otherwise", () => {
  const row = results.ini?.[0];
  if (!row) throw new Error("the fixture has an INI row");
  const counted = renderMarkdown({ machine, command: "pnpm bench", ini: [{ ...row, cycleFaults: 2800, floorFaults: 1500 }] });
  expect(counted).toContain(
    "A cycle touched 2800 pages of memory for the first time (minor page faults, 4 KiB each: 10.94 MiB), the floor 1500. At the 10.7 µs a first touch of a page took on this virtual machine",
  );
  expect(counted).toContain("that is about 30 ms of the cycle");
  expect(renderMarkdown({ machine, command: "pnpm bench", ini: [row] })).not.toContain("pages of memory");
});

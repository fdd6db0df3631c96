import { beforeEach, expect, test } from "vitest";
import { motoUrl, resetEmulator } from "../test-support/moto.js";
import { benchCliCold } from "./cli-cold.js";
import { benchFleet } from "./fleet.js";
import { benchIniStore, generatedCredentials } from "./ini-store.js";
import { benchPeers } from "./peer.js";
import type { Progress } from "./progress.js";
import { benchPropagation } from "./propagation.js";
import { benchServicePropagation } from "./service-propagation.js";
import { benchVersusHandWritten } from "./versus-hand-written.js";

// The benchmarks themselves, each at its smallest size: they must measure what they claim (the same
// calls on both sides, a delay the proxy really imposes, throttling that really happens). Their
// figures are not checked here: timings belong in `pnpm bench`, not in tests.
const ticks: string[] = [];
const progress: Progress = { tick: (detail) => ticks.push(detail) };

beforeEach(async () => {
  ticks.length = 0;
  await resetEmulator();
});

test("rotate() and the hand-written script make the same AWS calls", async () => {
  const result = await benchVersusHandWritten(motoUrl(), 2, progress);
  expect(result.keyupMs).toHaveLength(2);
  expect(result.handMs).toHaveLength(2);
  expect(result.keyupRequests).toEqual({ GetCallerIdentity: 3, ListAccessKeys: 2, CreateAccessKey: 1, UpdateAccessKey: 1, DeleteAccessKey: 1 });
  expect(result.handRequests).toEqual(result.keyupRequests);
  expect(ticks).toEqual(["run 1/2", "run 2/2"]);
});

test("under a propagation delay no strategy finishes before the key becomes valid", async () => {
  const runs = await benchPropagation(motoUrl(), [1500], 1, progress, ["keyup", "poll-2s"]);
  expect(runs.map((r) => r.strategy)).toEqual(["keyup", "poll-2s"]);
  for (const run of runs) expect(run.totalMs).toBeGreaterThanOrEqual(1500);
  // Polling every 2 s cannot succeed before its second attempt, 2 s after the first.
  expect(runs[1]?.totalMs).toBeGreaterThanOrEqual(2000);
});

test("per-service propagation: the rotation ends after the key is valid on both services, and IAM's refusals are counted", async () => {
  // Wide enough apart that, however slow the machine, the first verify call comes before STS accepts the
  // key and the first IAM confirmation before IAM does (STS's 1.5 s, plus the 500 ms backoff cap and the
  // 250 ms pause, is still short of 3 s).
  const rows = [{ label: "Ds 1.5 s, Di 3 s", propagation: { stsMs: 1500, iamMs: 3000 } }];
  const [run] = await benchServicePropagation(motoUrl(), rows, 1, progress);
  expect(run).toMatchObject({ label: "Ds 1.5 s, Di 3 s", outcome: "rotated", iamValidMs: 3000, bothValidMs: 3000 });
  // Verify cannot end before IAM accepts the new key, nor the rotation before verify.
  expect(run?.verifyMs).toBeGreaterThanOrEqual(3000);
  expect(run?.endMs).toBeGreaterThanOrEqual(run?.verifyMs ?? 0);
  expect(run?.wallMs).toBeGreaterThanOrEqual(run?.endMs ?? 0);
  expect(run?.refusedSts).toBeGreaterThan(0);
  expect(run?.refusedIam).toBeGreaterThan(0);
  expect(ticks).toHaveLength(1);
});

test("a throttled fleet through the CLI: every profile rotated, throttled requests counted", async () => {
  const runs = await benchFleet(motoUrl(), { profiles: 6, concurrencies: [3], runs: 1, throttleRate: 0.15 }, progress);
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({ concurrency: 3, rotated: 6, failed: 0, warnings: 0 });
  expect(runs[0]?.throttled).toBeGreaterThan(0);
  expect(runs[0]?.requests).toBeGreaterThan(6 * 8);
});

test("the INI benchmark changes only the key's bytes, where an ini rewrite loses every comment", async () => {
  const [small] = await benchIniStore([10], 2, progress);
  // Each run's file starts with a line of its own ("# run N"), so that no run reads text parsed before.
  expect(small?.fileBytes).toBe(Buffer.byteLength(`# run 1\n${generatedCredentials(10)}`));
  expect(small?.differingBytes).toBeGreaterThan(40);
  expect(small?.differingBytes).toBeLessThanOrEqual(56);
  expect(small?.commentLines, "the generated file's 11 comment lines and the run's own").toBe(12);
  expect(small?.iniCommentLinesKept).toBe(0);
  expect(small?.iniChangedRegionBytes).toBeGreaterThan(small?.changedRegionBytes ?? 0);
  expect(small?.readMs).toBeGreaterThan(0);
  expect(small?.floorMs).toBeGreaterThan(0);
});

test("the CLI benchmark runs node -e 0, keyup --help, --version, list and the hand-written list as new processes", async () => {
  const result = await benchCliCold(motoUrl(), 2, progress);
  for (const samples of [result.node, result.help, result.version, result.list, result.listByHand]) {
    expect(samples.wall).toHaveLength(2);
    // CPU times come from /usr/bin/time: one per run where it exists, none where it does not.
    expect([0, 2]).toContain(samples.cpu.length);
    expect(samples.cpu.length).toBe(result.node.cpu.length);
  }
  expect(ticks).toEqual(["round 1/2", "round 2/2"]);
});

test("keyup and the aws CLI script both rotate under a propagation delay; the file comparison is measured, not assumed", async () => {
  const runs = await benchPeers(motoUrl(), [1500], 1, progress);
  expect(runs.map((r) => r.peer)).toEqual(["keyup", "aws-cli-script"]);
  for (const run of runs) {
    expect(run.rotated).toBe(true);
    // Neither can finish before the new key works: the script polls with it, keyup verifies with it.
    expect(run.wallMs).toBeGreaterThanOrEqual(1500);
    expect(run.commentsBefore).toBe(4);
    expect(run.bytesDiffering).toBeGreaterThan(0);
  }
  const [keyup] = runs;
  // keyup edits the two values in place: CRLF and every comment stay, at most the 56 key characters change.
  expect(keyup).toMatchObject({ crlfKept: true, commentsAfter: 4 });
  expect(keyup?.bytesDiffering).toBeLessThanOrEqual(56);
});

test("generated credentials are key-shaped and distinct per profile", () => {
  const text = generatedCredentials(3);
  const ids = [...text.matchAll(/aws_access_key_id = (\S+)/g)].map((m) => m[1]);
  expect(new Set(ids).size).toBe(3);
  for (const id of ids) expect(id).toMatch(/^AKIA[A-Z2-7]{16}$/);
});

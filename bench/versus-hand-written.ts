import { performance } from "node:perf_hooks";
import { rotate } from "@keyup/core";
import { iniStore } from "@keyup/store-ini";
import { startAwsProxy } from "../test-support/aws-proxy.js";
import { benchDir, seedCredentialsFile } from "./fixtures.js";
import { rotateByHand } from "./hand-written.js";
import type { Progress } from "./progress.js";

/** Benchmark 1's figures: wall time of every run and the requests one run of each made, by action. */
export interface VersusHandWritten {
  readonly runs: number;
  readonly keyupMs: readonly number[];
  readonly handMs: readonly number[];
  readonly keyupRequests: Readonly<Record<string, number>>;
  readonly handRequests: Readonly<Record<string, number>>;
}

/**
 * `rotate()` against the hand-written script, alternating which goes first, each on a freshly seeded
 * emulator and credentials file (3 profiles, the middle one rotated), through a counting proxy. One
 * discarded warm-up run of each first, so module loading and JIT do not count against either.
 */
export async function benchVersusHandWritten(url: string, runs: number, progress: Progress): Promise<VersusHandWritten> {
  const proxy = await startAwsProxy(url);
  const keyupMs: number[] = [];
  const handMs: number[] = [];
  let keyupRequests: Record<string, number> = {};
  let handRequests: Record<string, number> = {};
  const countSince = (from: number) => {
    const out: Record<string, number> = {};
    for (const r of proxy.requests.slice(from)) out[r.action] = (out[r.action] ?? 0) + 1;
    return out;
  };
  const once = async (who: "keyup" | "hand") => {
    const file = await seedCredentialsFile(url, await benchDir(), 3);
    const from = proxy.requests.length;
    const started = performance.now();
    if (who === "keyup") {
      const result = await rotate({ store: iniStore({ profile: "p2", path: file.path }), endpoint: proxy.url, region: "us-east-1" });
      if (result.isErr()) throw new Error(`keyup failed: ${result.error.message}`);
    } else {
      await rotateByHand({ path: file.path, profile: "p2", endpoint: proxy.url, verify: "same-as-keyup" });
    }
    const ms = performance.now() - started;
    return { ms, requests: countSince(from) };
  };
  try {
    await once("keyup");
    await once("hand");
    for (let i = 0; i < runs; i++) {
      const order: ("keyup" | "hand")[] = i % 2 ? ["hand", "keyup"] : ["keyup", "hand"];
      for (const who of order) {
        const { ms, requests } = await once(who);
        if (who === "keyup") {
          keyupMs.push(ms);
          keyupRequests = requests;
        } else {
          handMs.push(ms);
          handRequests = requests;
        }
      }
      progress.tick(`run ${i + 1}/${runs}`);
    }
  } finally {
    await proxy.close();
  }
  return { runs, keyupMs, handMs, keyupRequests, handRequests };
}

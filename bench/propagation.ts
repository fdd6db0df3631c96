import { performance } from "node:perf_hooks";
import { rotate } from "@keyup/core";
import { iniStore } from "@keyup/store-ini";
import { awsErrorXml, startAwsProxy } from "../test-support/aws-proxy.js";
import { benchDir, seedCredentialsFile } from "./fixtures.js";
import { rotateByHand } from "./hand-written.js";
import type { Progress } from "./progress.js";

/** The three ways of waiting for a new key that benchmark 2 compares. */
export const STRATEGIES = ["keyup", "poll-2s", "fixed-sleep"] as const;
/** One of {@link STRATEGIES}. */
export type Strategy = (typeof STRATEGIES)[number];

/** One rotation under a propagation delay: D, and how long the whole rotation took. */
export interface PropagationRun {
  readonly strategy: Strategy;
  readonly delayMs: number;
  readonly totalMs: number;
}

/**
 * Rotates one profile while a proxy answers every request signed by the new key with IAM's
 * `InvalidClientTokenId` until `delayMs` after CreateAccessKey (what AWS does while a key propagates),
 * once per strategy, `runs` times per delay, strategies interleaved.
 */
export async function benchPropagation(
  url: string,
  delaysMs: readonly number[],
  runs: number,
  progress: Progress,
  strategies: readonly Strategy[] = STRATEGIES,
): Promise<PropagationRun[]> {
  const out: PropagationRun[] = [];
  for (const delayMs of delaysMs) {
    for (let i = 0; i < runs; i++) {
      for (const strategy of strategies) {
        const totalMs = await rotateUnderDelay(url, strategy, delayMs);
        out.push({ strategy, delayMs, totalMs });
        progress.tick(`D = ${delayMs / 1000} s, run ${i + 1}/${runs}, ${strategy}: ${(totalMs / 1000).toFixed(2)} s`);
      }
    }
  }
  return out;
}

async function rotateUnderDelay(url: string, strategy: Strategy, delayMs: number): Promise<number> {
  const file = await seedCredentialsFile(url, await benchDir(), 1);
  const old = new Set(file.keys.map((k) => k.accessKeyId));
  let validFrom = Number.POSITIVE_INFINITY;
  const proxy = await startAwsProxy(url, (req) => {
    if (req.action === "CreateAccessKey") validFrom = Date.now() + delayMs;
    else if (req.accessKeyId && !old.has(req.accessKeyId) && Date.now() < validFrom) {
      return { status: 403, body: awsErrorXml("InvalidClientTokenId", "The security token included in the request is invalid.") };
    }
    return undefined;
  });
  try {
    const started = performance.now();
    if (strategy === "keyup") {
      const result = await rotate({ store: iniStore({ profile: "p1", path: file.path }), endpoint: proxy.url, region: "us-east-1" });
      if (result.isErr()) throw new Error(`keyup failed under D = ${delayMs} ms: ${result.error.message}`);
    } else {
      await rotateByHand({ path: file.path, profile: "p1", endpoint: proxy.url, verify: strategy });
    }
    return performance.now() - started;
  } finally {
    await proxy.close();
  }
}

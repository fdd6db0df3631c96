import { rotate } from "@keyup/core";
import { iniStore } from "@keyup/store-ini";
import type { Propagation } from "../test-support/realism/profiles.js";
import { startRealismProxy } from "../test-support/realism/realism-proxy.js";
import { benchDir, seedCredentialsFile } from "./fixtures.js";
import type { Progress } from "./progress.js";

/** One row of benchmark 7: a name and the per-service propagation the realism proxy models. */
export interface ServiceDelays {
  readonly label: string;
  readonly propagation: Propagation;
}

/**
 * The rows benchmark 7 measures: no delay, STS before IAM (the usual case, and TYPICAL_AWS's 2 s / 5 s),
 * IAM before STS, both long, and IAM flapping (accepted, refused again for a while, accepted for good).
 *
 * @example
 * ```ts
 * const rows = await benchServicePropagation(motoUrl, SERVICE_DELAYS, 3, stderrProgress("7"));
 * ```
 */
export const SERVICE_DELAYS: readonly ServiceDelays[] = [
  { label: "Ds 0 s, Di 0 s", propagation: { stsMs: 0, iamMs: 0 } },
  { label: "Ds 2 s, Di 5 s (typical)", propagation: { stsMs: 2_000, iamMs: 5_000 } },
  { label: "Ds 5 s, Di 2 s", propagation: { stsMs: 5_000, iamMs: 2_000 } },
  { label: "Ds 5 s, Di 10 s", propagation: { stsMs: 5_000, iamMs: 10_000 } },
  {
    // The flap starts 0.2 s after a service accepts the key: inside verify's window (two successes
    // 250 ms apart), so a rotation cannot end before it as it could with a later one.
    label: "Ds 2 s, Di 5 s, each refusing again 0.2 s after, for 1 s",
    propagation: { stsMs: 2_000, iamMs: 5_000, flap: { sts: { afterMs: 200, forMs: 1_000 }, iam: { afterMs: 200, forMs: 1_000 } } },
  },
];

/** One rotation under one row's delays, timed against the proxy's model (all in ms from CreateAccessKey's answer). */
export interface ServicePropagationRun {
  readonly label: string;
  readonly propagation: Propagation;
  /** rotate() from call to result. */
  readonly wallMs: number;
  /** From CreateAccessKey's answer to the end of verify (the new key counted good on STS and IAM). */
  readonly verifyMs: number;
  /** When IAM accepts the new key for good: Di, or the end of IAM's flap. */
  readonly iamValidMs: number;
  /** When both services accept it for good. */
  readonly bothValidMs: number;
  /** From CreateAccessKey's answer to rotate()'s result. */
  readonly endMs: number;
  /** Requests signed by the new key that the model refused, by service. */
  readonly refusedSts: number;
  readonly refusedIam: number;
  /** Retry steps in the rotation's report (verify attempts, retire steps retried). */
  readonly retrySteps: number;
  readonly outcome: string;
}

/**
 * Rotates one INI profile `runs` times per row through the realism proxy (test-support/realism) with
 * that row's per-service propagation, and measures the rotation's wall time, how long verify took, and
 * how long after the new key became valid on IAM (and on both services) the rotation ended.
 *
 * @example
 * ```ts
 * const runs = await benchServicePropagation(moto.url, SERVICE_DELAYS, 3, stderrProgress("7 per-service propagation"));
 * ```
 */
export async function benchServicePropagation(url: string, rows: readonly ServiceDelays[], runs: number, progress: Progress): Promise<ServicePropagationRun[]> {
  const out: ServicePropagationRun[] = [];
  for (const row of rows) {
    for (let i = 0; i < runs; i++) {
      const r = await rotateUnder(url, row);
      out.push(r);
      progress.tick(
        `${row.label}, run ${i + 1}/${runs}: ${r.outcome}, ${(r.wallMs / 1000).toFixed(2)} s, ended ${((r.endMs - r.iamValidMs) / 1000).toFixed(2)} s after valid on IAM`,
      );
    }
  }
  return out;
}

/** When `service` accepts a key for good, from its creation: its delay, or the end of its flap. */
function validForGood(p: Propagation, service: "sts" | "iam"): number {
  const delay = service === "iam" ? p.iamMs : p.stsMs;
  const flap = p.flap?.[service];
  return flap ? delay + flap.afterMs + flap.forMs : delay;
}

async function rotateUnder(url: string, row: ServiceDelays): Promise<ServicePropagationRun> {
  const file = await seedCredentialsFile(url, await benchDir(), 1);
  const proxy = await startRealismProxy(url, { propagation: row.propagation });
  try {
    const started = Date.now();
    const result = await rotate({ store: iniStore({ profile: "p1", path: file.path }), endpoint: proxy.url, region: "us-east-1" });
    const ended = Date.now();
    const report = result.isOk() ? result.value : result.error.report;
    const created = proxy.requests.find((r) => r.action === "CreateAccessKey" && r.status === 200);
    if (!report || !created) throw new Error(`no rotation under ${row.label}: ${result.isErr() ? result.error.message : "no CreateAccessKey"}`);
    const fresh = report.newAccessKeyId ?? "";
    const verified = report.steps.find((s) => s.step === "verify" && s.status === "ok");
    const refused = (service: string) => proxy.requests.filter((r) => r.accessKeyId === fresh && r.service === service && r.modelled).length;
    return {
      label: row.label,
      propagation: row.propagation,
      wallMs: ended - started,
      verifyMs: verified ? Date.parse(verified.at) - created.at : Number.NaN,
      iamValidMs: validForGood(row.propagation, "iam"),
      bothValidMs: Math.max(validForGood(row.propagation, "iam"), validForGood(row.propagation, "sts")),
      endMs: ended - created.at,
      refusedSts: refused("sts"),
      refusedIam: refused("iam"),
      retrySteps: report.steps.filter((s) => s.status === "retry").length,
      outcome: report.outcome,
    };
  } finally {
    await proxy.close();
  }
}

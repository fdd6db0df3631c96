import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { rotate } from "@keyup/core";
import { iniStore } from "@keyup/store-ini";
import { cleanEnv } from "../test-support/cli.js";
import { startRealismProxy } from "../test-support/realism/realism-proxy.js";
import { benchDir, seedCredentialsFile } from "./fixtures.js";
import type { Progress } from "./progress.js";

const run = promisify(execFile);
const PEER_SCRIPT = join(import.meta.dirname, "peer-aws-cli.sh");

/** The two rotators benchmark 6 compares. */
export const PEERS = ["keyup", "aws-cli-script"] as const;
/** One of {@link PEERS}. */
export type Peer = (typeof PEERS)[number];

/** One rotation of a 3-profile CRLF file with comments, under a propagation delay D. */
export interface PeerRun {
  readonly peer: Peer;
  readonly delayMs: number;
  readonly wallMs: number;
  /** Positions whose byte differs, over the common length (more when the file's length changed). */
  readonly bytesDiffering: number;
  /** From the first to the last changed byte of the file (its whole length when everything moved). */
  readonly changedRegion: number;
  /** Every line of the file still ends with CRLF. */
  readonly crlfKept: boolean;
  /** Comment lines (`#` or `;`) after the rotation, and before. */
  readonly commentsAfter: number;
  readonly commentsBefore: number;
  /** The rotated profile now holds a key other than the one it started with. */
  readonly rotated: boolean;
}

/**
 * Rotates profile p2 of a 3-profile credentials file with CRLF line endings and comments, by keyup's
 * `rotate()` and by bench/peer-aws-cli.sh (the real `aws` CLI, as the popular bash rotators use it),
 * through the realism proxy with new keys refused for D after CreateAccessKey. Peers alternate.
 */
export async function benchPeers(url: string, delaysMs: readonly number[], runs: number, progress: Progress): Promise<PeerRun[]> {
  const out: PeerRun[] = [];
  for (const delayMs of delaysMs) {
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? PEERS : [...PEERS].reverse();
      for (const peer of order) {
        const r = await rotateOnce(url, peer, delayMs);
        out.push(r);
        progress.tick(
          `D = ${delayMs / 1000} s, run ${i + 1}/${runs}, ${peer}: ${(r.wallMs / 1000).toFixed(2)} s, ${r.bytesDiffering} bytes differ, CRLF ${r.crlfKept ? "kept" : "lost"}, comments ${r.commentsAfter}/${r.commentsBefore}`,
        );
      }
    }
  }
  return out;
}

async function rotateOnce(url: string, peer: Peer, delayMs: number): Promise<PeerRun> {
  const dir = await benchDir();
  const file = await seedCredentialsFile(url, dir, 3);
  const before = Buffer.from((await readFile(file.path, "utf8")).replace(/\n/g, "\r\n"));
  await writeFile(file.path, before, { mode: 0o600 });
  const config = join(dir, "config");
  await writeFile(config, "[default]\r\nregion = us-east-1\r\n", { mode: 0o600 });
  const proxy = await startRealismProxy(url, { propagation: { stsMs: delayMs, iamMs: delayMs } });
  try {
    const started = performance.now();
    if (peer === "keyup") {
      const result = await rotate({ store: iniStore({ profile: "p2", path: file.path }), endpoint: proxy.url, region: "us-east-1" });
      if (result.isErr()) throw new Error(`keyup failed under D = ${delayMs} ms: ${result.error.message}`);
    } else {
      await run(PEER_SCRIPT, ["p2", proxy.url], {
        env: cleanEnv({ AWS_SHARED_CREDENTIALS_FILE: file.path, AWS_CONFIG_FILE: config, AWS_DEFAULT_REGION: "us-east-1", HOME: dir }),
        timeout: 120_000,
      }).catch((e: { stderr?: string }) => {
        throw new Error(`the aws CLI script failed under D = ${delayMs} ms: ${(e.stderr ?? "").slice(0, 300)}`);
      });
    }
    const wallMs = performance.now() - started;
    const after = await readFile(file.path);
    return { peer, delayMs, wallMs, ...compare(before, after), rotated: !after.toString("utf8").includes(file.keys[1]?.accessKeyId ?? "?") };
  } finally {
    await proxy.close();
  }
}

/** What a rotation did to the file's bytes, line endings and comments. */
export function compare(before: Buffer, after: Buffer): Pick<PeerRun, "bytesDiffering" | "changedRegion" | "crlfKept" | "commentsAfter" | "commentsBefore"> {
  const common = Math.min(before.length, after.length);
  let bytesDiffering = Math.abs(before.length - after.length);
  for (let i = 0; i < common; i++) if (before[i] !== after[i]) bytesDiffering++;
  let prefix = 0;
  while (prefix < common && before[prefix] === after[prefix]) prefix++;
  let suffix = 0;
  while (suffix < common - prefix && before[before.length - 1 - suffix] === after[after.length - 1 - suffix]) suffix++;
  const text = after.toString("utf8");
  const comments = (s: string) => s.split(/\r?\n/).filter((l) => /^\s*[#;]/.test(l)).length;
  return {
    bytesDiffering,
    changedRegion: Math.max(0, after.length - prefix - suffix),
    crlfKept: !/(^|[^\r])\n/.test(text),
    commentsAfter: comments(text),
    commentsBefore: comments(before.toString("utf8")),
  };
}

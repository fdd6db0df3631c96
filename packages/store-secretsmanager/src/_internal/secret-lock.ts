import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { createStoreError, type StoreLock } from "@keyup/core";
import { toStoreError } from "./aws-errors.js";
import { isAwsError, type SecretApi, type SecretVersion } from "./secret-api.js";

/** What the lock secret holds: who holds the lock and until when. Never a secret. */
interface LockRecord {
  readonly keyup: "lock";
  readonly holder: string;
  readonly secret: string;
  readonly acquiredAt: string;
  readonly expiresAt: string;
  readonly released?: true;
}

/** The label a claim's version carries before it wins AWSCURRENT (PutSecretValue needs some label). */
const CLAIM_STAGE = "KEYUP_CLAIM";
/** How long lock() keeps retrying while a just-released lock secret is still being deleted. */
const DELETING_RETRY_MS = 1_000;

export interface SecretLockOptions {
  /** The lock secret's API (its id is the lock secret's name). */
  readonly api: SecretApi;
  /** The lock secret's name, for messages. */
  readonly lockName: string;
  /** The secret being locked, recorded in the lock for people who find it. */
  readonly secretName: string;
  /** How long a lock is honoured before another process may take it over. */
  readonly ttlMs: number;
  readonly now?: () => number;
}

type Observed =
  | { readonly kind: "absent" }
  | { readonly kind: "deleting" }
  | { readonly kind: "present"; readonly version: SecretVersion; readonly record: LockRecord | undefined };

/**
 * A cross-process (and cross-machine) lock on a companion secret.
 *
 * - Taking a free lock is CreateSecret, which is atomic: ResourceExistsException means someone holds it.
 * - A lock that expired (its holder died) or was marked released is claimed with a compare-and-swap:
 *   PutSecretValue of a new record, then UpdateSecretVersionStage moving AWSCURRENT to it *from the
 *   version that was observed*. Secrets Manager refuses the move if AWSCURRENT moved meanwhile, so of
 *   two claimers exactly one wins.
 * - Release deletes the lock secret while the lock is comfortably unexpired (no one can claim an
 *   unexpired lock, so the delete cannot remove someone else's). Close to or past expiry, where
 *   another process may be claiming it, release instead swaps in a "released" record with the same
 *   compare-and-swap, which does nothing if someone else already holds it.
 */
export async function acquireSecretLock(options: SecretLockOptions): Promise<StoreLock> {
  const { api, lockName, ttlMs } = options;
  const now = options.now ?? Date.now;
  const holder = `pid ${process.pid} on host ${hostname()}`;
  const record = (released = false): { token: string; text: string; expiresAt: number } => {
    const at = now();
    const body: LockRecord = {
      keyup: "lock",
      holder,
      secret: options.secretName,
      acquiredAt: new Date(at).toISOString(),
      expiresAt: new Date(at + ttlMs).toISOString(),
      ...(released ? { released: true as const } : {}),
    };
    return { token: randomUUID(), text: JSON.stringify(body), expiresAt: at + ttlMs };
  };

  const observe = async (): Promise<Observed> => {
    try {
      const version = await api.byStage("AWSCURRENT");
      return { kind: "present", version, record: parseRecord(version.text) };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === "ENOTFOUND" && /scheduled for deletion/.test((error as Error).message)) return { kind: "deleting" };
      if (code === "ENOTFOUND") return { kind: "absent" };
      throw error;
    }
  };

  const held = (token: string, expiresAt: number): StoreLock => {
    let released = false;
    return {
      release: async () => {
        if (released) return;
        const seen = await observe();
        // Gone, or claimed by another process after this lock expired: nothing of ours to release.
        if (seen.kind !== "present" || seen.version.versionId !== token) {
          released = true;
          return;
        }
        const margin = Math.min(30_000, ttlMs / 2);
        if (now() < expiresAt - margin) {
          await api.forceDelete().catch((error: unknown) => {
            if (!isAwsError(error, "ResourceNotFoundException")) throw toStoreError(error, lockName, "DeleteSecret");
          });
        } else {
          const marker = record(true);
          await swapIn(marker.token, marker.text, token);
        }
        released = true;
      },
    };
  };

  // Put a new record in and move AWSCURRENT to it, only if AWSCURRENT is still on `from`.
  const swapIn = async (token: string, text: string, from: string): Promise<boolean> => {
    await api.put(text, token, [CLAIM_STAGE]);
    try {
      await api.moveStage("AWSCURRENT", token, from);
      return true;
    } catch (error) {
      if (isAwsError(error, "InvalidParameterException", "ResourceNotFoundException")) return false;
      throw toStoreError(error, lockName, "UpdateSecretVersionStage");
    }
  };

  const busy = (who: string): Error => createStoreError("ELOCKED", `${options.secretName} is locked by ${who} (lock secret ${lockName})`, { holder: who });

  const deadline = now() + DELETING_RETRY_MS;
  for (let attempt = 1; ; attempt++) {
    if (attempt > 20) throw busy("other processes taking and releasing it continuously");
    const mine = record();
    try {
      await api.create(mine.text, mine.token, `keyup rotation lock for ${options.secretName}. Safe to delete when no keyup rotation is running.`);
      return held(mine.token, mine.expiresAt);
    } catch (error) {
      if (isAwsError(error, "InvalidRequestException") && now() < deadline) {
        // A force-deleted secret's name is briefly not reusable: a lock just released.
        await sleep(100);
        continue;
      }
      if (!isAwsError(error, "ResourceExistsException")) {
        if (isAwsError(error, "InvalidRequestException")) throw busy("a lock that is being deleted (retry in a few seconds)");
        throw toStoreError(error, lockName, "CreateSecret");
      }
    }
    const seen = await observe();
    if (seen.kind === "absent" || (seen.kind === "deleting" && now() < deadline)) {
      if (seen.kind === "deleting") await sleep(100);
      continue;
    }
    if (seen.kind === "deleting") throw busy("a lock that is being deleted (retry in a few seconds)");
    const found = seen.record;
    if (!found) {
      throw createStoreError("EINVALID", `lock secret ${lockName} exists but keyup did not write it: delete it if no keyup rotation is running`);
    }
    const expired = !(Date.parse(found.expiresAt) > now());
    if (!found.released && !expired) throw busy(`${found.holder} since ${found.acquiredAt} (until ${found.expiresAt})`);
    if (await swapIn(mine.token, mine.text, seen.version.versionId)) return held(mine.token, mine.expiresAt);
    const winner = await observe();
    if (winner.kind === "present" && winner.record && !winner.record.released) {
      throw busy(`${winner.record.holder} since ${winner.record.acquiredAt} (until ${winner.record.expiresAt})`);
    }
    throw busy("another process that claimed it at the same moment");
  }
}

function parseRecord(text: string): LockRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockRecord> | null;
    if (value?.keyup !== "lock" || typeof value.holder !== "string" || typeof value.expiresAt !== "string") return undefined;
    return {
      keyup: "lock",
      holder: value.holder,
      secret: String(value.secret ?? ""),
      acquiredAt: String(value.acquiredAt ?? ""),
      expiresAt: value.expiresAt,
      ...(value.released === true ? { released: true as const } : {}),
    };
  } catch {
    return undefined;
  }
}

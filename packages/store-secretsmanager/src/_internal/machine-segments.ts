import type { AccessKeyPair, AwsPort, CredentialStore, RotationConfig, RotationState, SigningCredentials } from "@keyup/core";
import { initialRotationState, type Phase, runRotation, type StateIn } from "@keyup/core/machine";

// The rotation handler's steps are stretches of core's one rotation machine: the machine decides
// (identity, the 2-key policy, create, install, verify with its retries and backoff, retire, rollback,
// error classification); this module only says where each stretch starts and stops, and what the
// "store" is for it. Nothing here loops, retries or classifies.

/** What every stretch runs with. */
export interface SegmentContext {
  /** Printable name of the secret, never a secret. */
  readonly name: string;
  /** The secret's ARN or name: the lock domain of the stores below. */
  readonly secretId: string;
  readonly aws: AwsPort;
  /** Verify timings, `userName` and `iamSigner` (`credentials` when the Lambda's role signs). */
  readonly config: RotationConfig;
  /** The role's credentials, with `iamSigner: "credentials"`. */
  readonly credentials?: () => Promise<SigningCredentials>;
}

/** Where a stretch writes the new key: PutSecretValue as AWSPENDING, and reads it back from there. */
export interface PendingSlot {
  readonly install: (key: AccessKeyPair) => Promise<void>;
  readonly readBack: () => Promise<AccessKeyPair | undefined>;
}

const BEFORE_LISTING: ReadonlySet<Phase> = new Set<Phase>(["idle", "reading-store", "resolving-identity"]);
const LISTING: ReadonlySet<Phase> = new Set<Phase>([...BEFORE_LISTING, "listing-keys"]);

/**
 * Resolves whose key `key` is (STS, unless `config.userName` names the user): the machine's inspect
 * stretch up to, not including, listing the keys. The state names `userName` and `userArn`.
 */
export function identify(ctx: SegmentContext, key: AccessKeyPair): Promise<RotationState> {
  return run(ctx, initialRotationState(ctx.name, ctx.config), heldStore(ctx, key), { old: key }, (s) => !BEFORE_LISTING.has(s.phase));
}

/**
 * The inspect stretch through ListAccessKeys: the state names the user and its keys (and, when the
 * key is not the user's or not a user's key at all, ends `failed` saying so).
 */
export function inspect(ctx: SegmentContext, key: AccessKeyPair): Promise<RotationState> {
  return run(ctx, initialRotationState(ctx.name, ctx.config), heldStore(ctx, key), { old: key }, (s) => !LISTING.has(s.phase));
}

/**
 * createSecret's stretch: inspect (the 2-key policy deletes an Inactive key held by nobody), create
 * the key, install it as AWSPENDING and read it back; stops before verifying. A failed install rolls
 * back by the machine's rules (the new key is deleted).
 */
export function stage(ctx: SegmentContext, current: AccessKeyPair, slot: PendingSlot): Promise<RotationState> {
  let installed = false;
  const store: CredentialStore = {
    ...heldStore(ctx, current),
    // Before the install the store holds AWSCURRENT's key; after it, what AWSPENDING holds.
    read: async () => (installed ? slot.readBack() : current),
    write: async (key) => {
      installed = true;
      await slot.install(key);
    },
  };
  const config: RotationConfig = { ...ctx.config, onLimit: "delete-inactive", oldKey: "keep" };
  return run(ctx, initialRotationState(ctx.name, config), store, { old: current }, (s) => s.phase === "verifying");
}

/**
 * testSecret's stretch: the machine's verify phase for `pending` (K consecutive STS successes as the
 * user `identified` names, propagation errors retried with core's backoff until the verify timeout).
 * Stops when verify ends: `done` (`rotated`) when it passed, a rollback phase when it failed. The
 * rollback does not run: the key stays staged and Secrets Manager retries the rotation.
 */
export function verify(ctx: SegmentContext, identified: RotationState, current: AccessKeyPair, pending: AccessKeyPair, at: number): Promise<RotationState> {
  // A stretch that starts mid-rotation from what Secrets Manager holds: the state has no key listing,
  // backup or install time of its own (verify reads none of them), so it is not one the machine's
  // union by stage can prove; say so here, once.
  const start = {
    ...identified,
    config: { ...identified.config, oldKey: "keep" },
    phase: "verifying",
    userName: identified.userName ?? ctx.config.userName,
    newAccessKeyId: pending.accessKeyId,
    loopStartedAt: at,
    consecutiveSuccesses: 0,
    verifyAttempts: 0,
  } as RotationState;
  return run(ctx, start, heldStore(ctx, pending), { old: current, new: pending }, (s) => s.phase !== "verifying");
}

/** Which key to retire, signed by which, and how. */
export interface Retirement {
  readonly userName: string;
  readonly accessKeyId: string;
  /** The key that signs (the AWSCURRENT one), unless the role signs. */
  readonly signer: AccessKeyPair;
  /** `delete` deactivates, then deletes; `deactivate` stops at Inactive. */
  readonly oldKey: "delete" | "deactivate";
  /**
   * When set (epoch ms on AWS's clock): first ask IAM when the key was last used, and if that was
   * after this time, change nothing (the machine's in-use guard).
   */
  readonly unusedSince?: number;
}

/**
 * Retires one key: when `unusedSince` is set, first asks IAM when the key was last used (signed by the
 * AWSCURRENT key or the role, never by the key itself, whose own call would count as a use), and if
 * that was after `unusedSince`, changes nothing and ends `completed-with-warnings` with `oldKeyInUse`.
 * Then the machine's retire stretch: deactivate (and delete), each retried on IAM's propagation and
 * throttling errors with core's backoff; ends `rotated` when done.
 *
 * The check is made here, not by the machine's in-use guard: that guard runs before a rotation
 * creates its key and keeps a recently used key Active for a hold, while this key's rotation is long
 * over and the question is only whether anything used it since.
 */
export async function retire(ctx: SegmentContext, retirement: Retirement, at: number): Promise<RotationState> {
  const base = initialRotationState(ctx.name, { ...ctx.config, oldKey: retirement.oldKey, inUseGuard: false });
  // Starts after verification from what Secrets Manager holds (no key listing, backup, user ARN or
  // install time: the retire phases read none of them), so the union by stage cannot prove it; say
  // so here, once.
  const start = {
    ...base,
    phase: "deactivating",
    startedAt: at,
    loopStartedAt: at,
    userName: retirement.userName,
    oldAccessKeyId: retirement.accessKeyId,
    newAccessKeyId: retirement.signer.accessKeyId,
    oldKeyState: "active",
  } as unknown as StateIn<"deactivating">;
  if (retirement.unusedSince !== undefined) {
    const signer = ctx.config.iamSigner === "credentials" && ctx.credentials ? await ctx.credentials() : retirement.signer;
    const used = await ctx.aws.getAccessKeyLastUsed(retirement.accessKeyId, signer);
    if (used.date && used.date.getTime() > retirement.unusedSince) {
      const oldKeyInUse = {
        date: used.date.toISOString(),
        ...(used.serviceName ? { serviceName: used.serviceName } : {}),
        ...(used.region ? { region: used.region } : {}),
      };
      return { ...start, phase: "done", outcome: "completed-with-warnings", oldKeyInUse };
    }
  }
  return run(ctx, start, heldStore(ctx, retirement.signer), { new: retirement.signer }, () => false);
}

async function run(
  ctx: SegmentContext,
  start: RotationState,
  store: CredentialStore,
  secrets: { old?: AccessKeyPair; new?: AccessKeyPair },
  until: (s: RotationState) => boolean,
): Promise<RotationState> {
  const credentials = ctx.config.iamSigner === "credentials" && ctx.credentials ? await ctx.credentials() : undefined;
  return runRotation(start, { store, aws: ctx.aws, secrets, until, ...(credentials ? { credentials } : {}) });
}

/**
 * A store that holds one key and is never written: for the stretches that only read. Its backup is
 * the AWSCURRENT version, which no stretch changes; the lock is Secrets Manager's own (one rotation
 * per secret at a time, AWSPENDING marks it).
 */
function heldStore(ctx: SegmentContext, key: AccessKeyPair): CredentialStore {
  return {
    name: ctx.name,
    capabilities: { crossProcessLock: true, durableBackup: true },
    lockDomain: { kind: "resource", id: ctx.secretId },
    read: async () => key,
    backup: async () => ({ id: "AWSCURRENT" }),
    write: async () => {
      throw Object.assign(new Error(`${ctx.name}: this stretch of the rotation writes nothing`), { code: "EIO" });
    },
    // AWSCURRENT is never changed before finishSecret, so there is nothing to put back.
    restore: async () => undefined,
    lock: async () => ({ release: async () => undefined }),
  };
}

import { setTimeout as sleepFor } from "node:timers/promises";
import { confirmOnIam, confirmsOnIam, isAccessDenied, listOwnKeysStatement } from "./_internal/iam-confirmation.js";
import { sessionTooShort } from "./_internal/session-budget.js";
import type { AwsPort, SigningCredentials } from "./aws-port.js";
import type { AccessKeyPair, CredentialStore } from "./credential-store.js";
import { awsErrorName, classifyAwsErrorName, redact, toAwsError } from "./errors.js";
import { effectFor, groupOf, isTerminal, stepOf, transition } from "./machine/transition.js";
import type { Effect, Failure, RotationEvent, RotationState, Signer } from "./machine/types.js";
import type { RotationStep } from "./report.js";

/**
 * Progress of a rotation, for `onEvent`. One `step` event per finished step (including retries),
 * and a `step-started` before each piece of work. Never holds a secret.
 *
 * @example
 * ```ts
 * const onEvent = (e: ProgressEvent) => {
 *   if (e.type === "step") console.log(`${e.step.step}: ${e.step.status} ${e.step.detail ?? ""}`);
 * };
 * ```
 */
export type ProgressEvent =
  | { readonly type: "step-started"; readonly step: string; readonly effect: Effect; readonly at: string }
  | { readonly type: "step"; readonly step: RotationStep };

/**
 * The secrets a rotation holds in memory beside its state: the store's key and the new key.
 *
 * @example
 * ```ts
 * const secrets: RotationSecrets = { old: await store.read() };
 * ```
 */
export interface RotationSecrets {
  old?: AccessKeyPair;
  new?: AccessKeyPair;
}

/**
 * What the runner needs to execute a rotation's effects.
 *
 * @example
 * ```ts
 * const finalState = await runRotation(initialRotationState(store.name, config), { store, aws: createAwsPort() });
 * ```
 */
export interface RunnerContext {
  readonly store: CredentialStore;
  readonly aws: AwsPort;
  /** Caller-given credentials for IAM calls when `config.iamSigner` is `credentials`. */
  readonly credentials?: SigningCredentials;
  readonly onEvent?: (event: ProgressEvent) => void;
  readonly signal?: AbortSignal;
  /** Clock, randomness and sleep: injectable so tests run instantly and deterministically. */
  readonly now?: () => number;
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Called with every new state before its effect runs (and with the new secret right after
   * CreateAccessKey), so a journal can make the rotation resumable. A rejection stops the rotation
   * safely: the machine treats it as a failure of the step about to run.
   */
  readonly persist?: (state: RotationState, secrets: RotationSecrets) => Promise<void>;
  /** Secrets recovered from a journal, when resuming. */
  readonly secrets?: RotationSecrets;
  /**
   * Stops the run, before the effect of the first state for which this returns true, and returns that
   * state: for shells that run one stretch of a rotation at a time (the Secrets Manager rotation
   * function runs create-and-install in createSecret, verify in testSecret).
   */
  readonly until?: (state: RotationState) => boolean;
}

/**
 * The imperative shell: runs `transition`'s effects against IAM, STS and the store, feeding each
 * outcome back as an event, until the rotation ends. Resumes from any non-idle state. Never throws
 * for AWS or store failures: they become `effectFailed` events the machine decides on.
 *
 * @example
 * ```ts
 * const state = await runRotation(initialRotationState(store.name, defaultRotationConfig), {
 *   store,
 *   aws: createAwsPort({ endpoint }),
 * });
 * console.log(state.outcome);
 * ```
 */
export async function runRotation(initial: RotationState, ctx: RunnerContext): Promise<RotationState> {
  const now = ctx.now ?? Date.now;
  const random = ctx.random ?? Math.random;
  const sleep = ctx.sleep ?? ((ms: number, signal?: AbortSignal) => sleepFor(ms, undefined, signal ? { signal } : {}));
  const secrets: RotationSecrets = { ...ctx.secrets };
  const emit = (event: ProgressEvent) => {
    try {
      ctx.onEvent?.(event);
    } catch {
      // A faulty progress callback must not break a rotation half-way.
    }
  };

  let { state, effects } = initial.phase === "idle" ? transition(initial, { type: "start", at: now() }) : { state: initial, effects: [effectFor(initial)] };
  let emitted = initial.steps.length;

  while (!isTerminal(state)) {
    if (ctx.until?.(state)) break;
    for (const step of state.steps.slice(emitted)) emit({ type: "step", step });
    emitted = state.steps.length;

    const effect = effects[0];
    if (!effect) throw new Error(`keyup bug: phase ${state.phase} produced no effect`);

    let event: RotationEvent | undefined;
    if (ctx.signal?.aborted && !state.aborted) {
      event = { type: "abort", at: now() };
    } else {
      try {
        // A wait changes nothing outside; the state before the next real effect is what a resume needs.
        if (effect.type !== "wait") await ctx.persist?.(state, secrets);
      } catch (error) {
        // Without a durable record we must not go on creating or installing keys; a rollback, though,
        // is better finished than stopped for want of a journal.
        if (groupOf(state.phase) !== "rollback") {
          event = { type: "effectFailed", effect: effect.type, failure: journalFailure(error), at: now(), random: random() };
        }
      }
      if (!event) {
        try {
          if (effect.type !== "wait") emit({ type: "step-started", step: stepOf(state.phase), effect, at: new Date(now()).toISOString() });
          event = await perform(effect, state, ctx, secrets, sleep, now);
        } catch (error) {
          event = { type: "effectFailed", effect: effect.type, failure: failureOf(effect, error, ctx.signal, state), at: now(), random: random() };
        }
      }
    }
    ({ state, effects } = transition(state, event));
  }
  for (const step of state.steps.slice(emitted)) emit({ type: "step", step });
  await ctx.persist?.(state, secrets).catch(() => undefined);
  return state;
}

async function perform(
  effect: Effect,
  state: RotationState,
  ctx: RunnerContext,
  secrets: RotationSecrets,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  now: () => number,
): Promise<RotationEvent> {
  const signer = (which: Signer): SigningCredentials => {
    const key = which === "credentials" ? ctx.credentials : which === "old" ? secrets.old : secrets.new;
    if (!key) throw Object.assign(new Error(`no ${which} key in memory to sign with (was the journal lost?)`), { name: "MissingSigningKey" });
    return key;
  };
  switch (effect.type) {
    case "readStore": {
      const key = await ctx.store.read();
      if (key) secrets.old = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
      return { type: "storeRead", accessKeyId: key?.accessKeyId, at: now() };
    }
    case "getCallerIdentity": {
      const { arn } = await ctx.aws.getCallerIdentity(signer("old"));
      return { type: "identityResolved", arn, at: now() };
    }
    case "listAccessKeys": {
      const keys = await ctx.aws.listAccessKeys(effect.userName, signer(effect.signer));
      return { type: "keysListed", keys, at: now() };
    }
    case "deleteAccessKey":
      try {
        await ctx.aws.deleteAccessKey(effect.userName, effect.accessKeyId, signer(effect.signer));
      } catch (error) {
        // Already gone is what we wanted: a retried or resumed delete whose first attempt landed.
        if (awsErrorName(error) !== "NoSuchEntity") throw error;
      }
      return { type: "keyDeleted", accessKeyId: effect.accessKeyId, at: now() };
    case "backupStore": {
      const backup = await ctx.store.backup();
      if (typeof backup?.id !== "string") throw Object.assign(new Error(`${ctx.store.name}: backup() returned no id`), { code: "EBACKUP" });
      return { type: "storeBackedUp", backup: { id: backup.id, ...(backup.location !== undefined ? { location: backup.location } : {}) }, at: now() };
    }
    case "createAccessKey": {
      // A session that may expire before the rotation (rollback included) ends must not create a key.
      const expiration = effect.signer === "credentials" ? ctx.credentials?.expiration : undefined;
      const tooShort = expiration ? sessionTooShort(expiration.getTime(), now(), state.config) : undefined;
      if (tooShort) {
        const failure: Failure = { source: "keyup", code: "SessionTooShort", message: tooShort, retry: "no" };
        return { type: "effectFailed", effect: effect.type, failure, at: now(), random: 0 };
      }
      const key = await ctx.aws.createAccessKey(effect.userName, signer(effect.signer));
      secrets.new = key;
      return { type: "keyCreated", accessKeyId: key.accessKeyId, at: now() };
    }
    case "install": {
      const key = secrets.new;
      if (!key || key.accessKeyId !== effect.accessKeyId)
        throw Object.assign(new Error(`the secret of ${effect.accessKeyId} is not in memory`), { code: "ENOSECRET" });
      await ctx.store.write(key);
      // Read it back: a store that reports success but does not hold the key would otherwise be verified
      // (STS checks the key, not the store) and left holding the old key once that key is deleted.
      const held = await ctx.store.read();
      if (held?.accessKeyId !== key.accessKeyId || held.secretAccessKey !== key.secretAccessKey) {
        throw Object.assign(new Error(`${ctx.store.name} does not hold ${key.accessKeyId} after writing it (it holds ${held?.accessKeyId ?? "nothing"})`), {
          code: "EIO",
        });
      }
      return { type: "installed", at: now() };
    }
    case "verify": {
      const key = signer("new");
      const { arn } = await ctx.aws.getCallerIdentity(key);
      // STS can accept a key before IAM does: the success that completes the count must include IAM.
      if (confirmsOnIam(state)) await confirmOnIam(ctx.aws, state, arn, key);
      return { type: "verified", arn, at: now() };
    }
    case "updateAccessKey":
      await ctx.aws.updateAccessKey(effect.userName, effect.accessKeyId, effect.status, signer(effect.signer));
      return { type: "keyUpdated", accessKeyId: effect.accessKeyId, at: now() };
    case "restoreStore":
      await ctx.store.restore(effect.backup);
      return { type: "storeRestored", at: now() };
    case "listUserTags":
      return { type: "tagsListed", tags: await ctx.aws.listUserTags(effect.userName, signer(effect.signer)), at: now() };
    case "tagUser":
      await ctx.aws.tagUser(effect.userName, effect.tags, signer(effect.signer));
      return { type: "userTagged", at: now() };
    case "untagUser":
      await ctx.aws.untagUser(effect.userName, effect.keys, signer(effect.signer));
      return { type: "userUntagged", at: now() };
    case "getAccessKeyLastUsed": {
      const used = await ctx.aws.getAccessKeyLastUsed(effect.accessKeyId, signer(effect.signer));
      return {
        type: "lastUsed",
        ...(used.date ? { date: used.date.toISOString() } : {}),
        ...(used.serviceName ? { serviceName: used.serviceName } : {}),
        ...(used.region ? { region: used.region } : {}),
        at: now(),
      };
    }
    case "wait":
      try {
        await sleep(effect.ms, ctx.signal);
      } catch {
        return { type: "abort", at: now() };
      }
      return { type: "waited", at: now() };
  }
}

function arnOf(error: unknown): string | undefined {
  const arn = (error as { arn?: unknown } | undefined)?.arn;
  return typeof arn === "string" ? arn : undefined;
}

function journalFailure(error: unknown): Failure {
  const message = error instanceof Error ? error.message : String(error);
  return { source: "keyup", code: "JournalWriteFailed", message: `cannot record the rotation in its journal: ${redact(message)}`, retry: "no" };
}

const STORE_EFFECTS = new Set<Effect["type"]>(["readStore", "backupStore", "install", "restoreStore"]);
const OPERATION: Partial<Record<Effect["type"], string>> = {
  getCallerIdentity: "GetCallerIdentity",
  verify: "GetCallerIdentity",
  listAccessKeys: "ListAccessKeys",
  deleteAccessKey: "DeleteAccessKey",
  createAccessKey: "CreateAccessKey",
  updateAccessKey: "UpdateAccessKey",
  listUserTags: "ListUserTags",
  tagUser: "TagUser",
  untagUser: "UntagUser",
  getAccessKeyLastUsed: "GetAccessKeyLastUsed",
};

function failureOf(effect: Effect, error: unknown, signal: AbortSignal | undefined, state: RotationState): Failure {
  if (STORE_EFFECTS.has(effect.type)) {
    const e = error as { code?: unknown; message?: unknown; holder?: unknown };
    return {
      source: "store",
      code: typeof e?.code === "string" ? e.code : "EIO",
      message: redact(typeof e?.message === "string" ? e.message : String(error)),
      retry: "no",
      ...(typeof e?.holder === "string" ? { holder: e.holder } : {}),
    };
  }
  const named = (error as { operation?: unknown } | undefined)?.operation;
  const operation = typeof named === "string" ? named : (OPERATION[effect.type] ?? effect.type);
  if (signal?.aborted) return { source: "keyup", code: "Aborted", message: `${operation} was interrupted by abort`, retry: "no" };
  const code = awsErrorName(error);
  const kind = classifyAwsErrorName(code);
  if (effect.type === "verify" && isAccessDenied(code)) {
    // A key IAM does not know yet is refused with InvalidClientTokenId; AccessDenied means the key is
    // known and a permission is missing, which no amount of waiting fixes: stop now, not at the timeout.
    return {
      source: "aws",
      code,
      operation,
      message: `${toAwsError(operation, error).message}. Verify proves the new key on IAM with iam:${operation} on its own user; add to the user's policy: ${listOwnKeysStatement(arnOf(error) ?? state.userArn)}`,
      retry: "no",
    };
  }
  return {
    source: "aws",
    code,
    operation,
    message: toAwsError(operation, error).message,
    retry: kind === "transient-auth" ? "auth" : kind === "transient-service" ? "service" : "no",
  };
}

import { randomUUID } from "node:crypto";
import { err, errAsync, ok, type Result, ResultAsync } from "neverthrow";
import { callStore, checkAwsOptions, checkStore, checkUserName } from "./_internal/options.js";
import { checkRotateSettings, rotateOptionError } from "./_internal/rotate-options.js";
import { sessionSecondsFor } from "./_internal/session-budget.js";
import { openSession } from "./_internal/user-context.js";
import { type AwsOptions, type AwsPort, createAwsPort, type SigningCredentials } from "./aws-port.js";
import { compositeStore } from "./composite-store.js";
import type { AccessKeyPair, CredentialStore } from "./credential-store.js";
import type { ConfigError, JournalError, RotationError, StoreError } from "./errors.js";
import { currentJournalEntry, defaultJournal, defaultJournalPath, type JournalEntry, journalEntry, journalHolder, type RotationJournal } from "./journal.js";
import { errorOf, reportOf } from "./machine/outcome.js";
import { initialRotationState, resumeState } from "./machine/transition.js";
import { defaultRotationConfig, type RotationConfig, type RotationState } from "./machine/types.js";
import { describeNextSteps } from "./messages.js";
import type { RotationReport } from "./report.js";
import { type ProgressEvent, type RotationSecrets, runRotation } from "./runner.js";

/**
 * Options for {@link rotate}. Only `store` is required.
 *
 * @example
 * ```ts
 * const options: RotateOptions = {
 *   store: iniStore({ profile: "ci" }),
 *   verifyTimeoutMs: 60_000,
 *   onEvent: (e) => e.type === "step" && console.log(e.step.step, e.step.status),
 * };
 * ```
 */
export interface RotateOptions extends AwsOptions {
  /** Where the key lives; the new key is installed there. Give `store` or `stores`, not both. */
  readonly store?: CredentialStore;
  /**
   * Several stores holding the same key: one new key is installed into all of them (through
   * {@link compositeStore}); if any install fails, the stores already written are restored before the
   * new key is deleted.
   */
  readonly stores?: readonly CredentialStore[];
  /**
   * The IAM user whose key rotates. Default: the user STS GetCallerIdentity names for the store's key.
   * Root and assumed-role identities are refused.
   */
  readonly userName?: string;
  /** How long to keep retrying verification of the new key, in ms. Default 30 000. */
  readonly verifyTimeoutMs?: number;
  /** Consecutive successful GetCallerIdentity calls needed with the new key. Default 2. */
  readonly requiredSuccesses?: number;
  /**
   * At IAM's 2-key limit: `refuse` (default) fails before creating anything, naming both keys;
   * `delete-inactive` deletes the other key if it is Inactive and not the one the store holds.
   */
  readonly onLimit?: "refuse" | "delete-inactive";
  /** What becomes of the old key after the new one is verified. Default `delete`. */
  readonly oldKey?: "delete" | "deactivate" | "keep";
  /** Skip (outcome `skipped`, nothing changed) when the current key is younger than this many ms. */
  readonly minAgeMs?: number;
  /**
   * Keep the old key Inactive for this many ms instead of deleting it (implies `oldKey: "deactivate"`),
   * recorded on the user as tag `keyup:grace:<key id>`; `cleanup()` deletes it afterwards, and a later
   * rotation at the 2-key limit deletes it once the grace has passed. Needs iam:TagUser and ListUserTags.
   */
  readonly keepOldForMs?: number;
  /**
   * Before keyup's first call with the old key, read when it was last used (GetAccessKeyLastUsed). If
   * it was used within the last hour (or `keepOldForMs`, at least 35 minutes), a consumer may still hold
   * it: once the new key works, the old key stays Active for that long, tagged `keyup:grace:<key id>`,
   * and `cleanup()` deletes it afterwards unless IAM recorded a use after the new key's creation + 15
   * minutes. Otherwise the old key is retired at once. Default `false`; the CLI turns it on (`--force`
   * turns it off). Needs iam:GetAccessKeyLastUsed, and TagUser/ListUserTags to hold a key.
   */
  readonly inUseGuard?: boolean;
  /**
   * With `inUseGuard`: uses of the old key recorded at or after this time are your own (for example a
   * `listKeys()` shown just before the rotation, as the CLI does), not a consumer's.
   */
  readonly ownUseSince?: Date;
  /** A description for the new key: tagged on the user as key = new access key id (as the IAM console does). */
  readonly description?: string;
  /**
   * For users whose policies require MFA: IAM calls use a 15-minute GetSessionToken session opened with
   * this device and code; verification still uses the bare new key.
   */
  readonly mfa?: MfaOptions;
  /** A console-compatible logger; keyup is silent by default. Lines carry key ids, never secrets. */
  readonly logger?: KeyupLogger;
  /**
   * Where the rotation is recorded while it runs, so a crash can be resumed. Default: a file journal at
   * {@link defaultJournalPath} (beside the store's file for file stores) for stores that declare a
   * `journalPath` or a durable backup; none for stores that live in memory. `false` turns it off.
   */
  readonly journal?: RotationJournal | false;
  /** Progress: one event per step. Never carries a secret. */
  readonly onEvent?: (event: ProgressEvent) => void;
  /** Aborts the rotation; anything already created is rolled back. */
  readonly signal?: AbortSignal;
  /** Substitute IAM/STS implementation (tests, custom transports). Default: {@link createAwsPort}. */
  readonly aws?: AwsPort;
}

/**
 * An MFA device and a way to get a one-time code from it.
 *
 * @example
 * ```ts
 * const mfa: MfaOptions = { serialNumber: "arn:aws:iam::123456789012:mfa/me", tokenCode: async () => prompt("MFA code: ") };
 * ```
 */
export interface MfaOptions {
  readonly serialNumber: string;
  readonly tokenCode: () => Promise<string>;
}

/**
 * The logger keyup writes to: any object with console's `debug`, `info`, `warn` and `error`.
 *
 * @example
 * ```ts
 * await rotate({ store, logger: console });
 * ```
 */
export interface KeyupLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Rotates the access key held by `options.store`: inspect, create, install, verify, deactivate and
 * delete the old key, rolling back on any failure. Holds the store's lock throughout. If an earlier
 * rotation of this store was interrupted (its journal is still there), that rotation is finished or
 * rolled back instead, whichever is safe. Never throws.
 *
 * `Ok` for `rotated` and `completed-with-warnings` (check `report.warnings`); `Err` otherwise, with
 * the report attached whenever IAM was looked at.
 *
 * @example
 * ```ts
 * import { rotate } from "@keyup/core";
 * import { iniStore } from "@keyup/store-ini";
 *
 * const result = await rotate({ store: iniStore({ profile: "ci" }) });
 * result.match(
 *   (report) => console.log(`rotated ${report.oldAccessKeyId} -> ${report.newAccessKeyId}`),
 *   (error) => { console.error(error.message); process.exitCode = 1; },
 * );
 * ```
 */
export function rotate(options: RotateOptions): ResultAsync<RotationReport, RotationError> {
  return run(options, "rotate").andThen((report) =>
    report ? ok(report) : err<RotationReport, RotationError>({ kind: "internal", message: "keyup bug: nothing ran" }),
  );
}

/**
 * Options for {@link recover} and {@link pendingRotations}: the store, and where its journal is if
 * not at the default place, plus how to reach AWS.
 *
 * @example
 * ```ts
 * const options: RecoverOptions = { store: iniStore({ profile: "ci" }) };
 * ```
 */
export type RecoverOptions = Omit<RotateOptions, "userName" | "verifyTimeoutMs" | "requiredSuccesses" | "onLimit" | "oldKey">;

/**
 * Finishes or rolls back an interrupted rotation of `options.store`, whichever is safe from what the
 * journal recorded and what IAM and the store hold now. Resolves `null` when there was nothing to
 * recover. Never starts a new rotation. Never throws.
 *
 * @example
 * ```ts
 * const result = await recover({ store: iniStore({ profile: "ci" }) });
 * if (result.isOk()) console.log(result.value ? result.value.outcome : "nothing to recover");
 * ```
 */
export function recover(options: RecoverOptions): ResultAsync<RotationReport | null, RotationError> {
  return run(options, "recover");
}

/**
 * An unfinished rotation found in a journal. No secret: key ids and where things are.
 *
 * @example
 * ```ts
 * const p: PendingRotation = { id: "…", store: "ini:…#ci", phase: "verifying", journal: "/…", startedAt: "…", writer: "pid 42 on ci-1", holdsNewSecret: true };
 * ```
 */
export interface PendingRotation {
  readonly id: string;
  readonly store: string;
  readonly phase: string;
  readonly userName?: string;
  readonly oldAccessKeyId?: string;
  readonly newAccessKeyId?: string;
  /** Where the journal is. */
  readonly journal: string;
  readonly startedAt: string;
  /** The process that wrote it. */
  readonly writer: string;
  /** True when the journal holds a new key's secret: never delete it by hand without recovering. */
  readonly holdsNewSecret: boolean;
}

/**
 * Lists the unfinished rotations of `options.store` (zero or one: one journal per store). Reads only:
 * no lock is taken and nothing is changed. Never throws.
 *
 * @example
 * ```ts
 * const pending = await pendingRotations({ store: iniStore({ profile: "ci" }) });
 * if (pending.isOk()) for (const p of pending.value) console.log(p.phase, p.newAccessKeyId);
 * ```
 */
export function pendingRotations(options: Pick<RotateOptions, "store" | "journal">): ResultAsync<PendingRotation[], ConfigError | JournalError> {
  const store = checkStore(options.store);
  if (store.isErr()) return errAsync(store.error);
  const journal = journalFor(store.value, options.journal);
  if (!journal) return ResultAsync.fromSafePromise(Promise.resolve([]));
  return ResultAsync.fromPromise(journal.load(), (e) => journalError(journal, e)).map((entry) =>
    entry ? [pendingOf(currentJournalEntry(entry), journal)] : [],
  );
}

// ---------------------------------------------------------------------------------------------

function run(options: RotateOptions | RecoverOptions, mode: "rotate" | "recover"): ResultAsync<RotationReport | null, RotationError> {
  const checked = checkRotateOptions(options as RotateOptions);
  if (checked.isErr()) return errAsync(checked.error);
  const { store, config } = checked.value;
  const journal = journalFor(store, options.journal);
  const aws = options.aws ?? createAwsPort(options);
  return callStore(store, "lock", () => store.lock()).andThen((lock) =>
    ResultAsync.fromPromise(
      runLocked(store, config, journal, aws, options, mode).finally(() => lock.release().catch(() => undefined)),
      (bug): RotationError => ({ kind: "internal", message: `keyup bug: the rotation stopped unexpectedly: ${String(bug)}`, cause: bug }),
    )
      .andThen((r) => r)
      .andThen((state) => (state ? toOutcome(state, journal?.location) : ok(null))),
  );
}

async function runLocked(
  store: CredentialStore,
  config: RotationConfig,
  journal: RotationJournal | undefined,
  aws: AwsPort,
  options: RotateOptions | RecoverOptions,
  mode: "rotate" | "recover",
): Promise<Result<RotationState | undefined, RotationError>> {
  let entry: JournalEntry | undefined;
  if (journal) {
    try {
      entry = currentJournalEntry(await journal.load());
    } catch (error) {
      return err(journalError(journal, error));
    }
  }

  let start: RotationState | undefined;
  let secrets: RotationSecrets = {};
  let id: string = randomUUID();
  let createdAt = new Date().toISOString();
  if (entry && journal) {
    if (entry.store !== store.name) {
      return err({
        kind: "journal",
        location: journal.location,
        message: `the rotation journal ${journal.location} belongs to ${entry.store}, not ${store.name}: pass the journal of this store, or recover that store first`,
      });
    }
    const resumed = resumeState(entry.state, Date.now());
    if (resumed) {
      start = resumed;
      secrets = { ...entry.secrets };
      id = entry.id;
      createdAt = entry.createdAt;
      const last = start.steps[start.steps.length - 1];
      if (last) emitSafely(options.onEvent, { type: "step", step: { ...last, detail: `${last.detail} (rotation ${id} by ${journalHolder(entry)})` } });
    } else if (entry.state.outcome === "rollback-failed") {
      // Never discard a record of keys left behind: a person has to look.
      return err({
        kind: "journal",
        location: journal.location,
        message: `the rotation journal ${journal.location} records a failed rollback keyup cannot retry: ${describeNextSteps(entry.state.nextSteps ?? []).join("; ")}. Then move the journal aside`,
      });
    } else {
      // Nothing had been created: the journal holds no new secret, and starting over is safe.
      await journal.clear();
    }
  }
  if (!start) {
    if (mode === "recover") return ok(undefined);
    const shared = await holdersLeftBehind(store);
    if (shared) return err(shared);
    start = initialRotationState(store.name, config);
  }

  let credentials = options.credentials;
  if (options.mfa) {
    const session = await mfaSession(store, aws, options.mfa, secrets, sessionSecondsFor(config));
    if (session.isErr()) return err(session.error);
    credentials = session.value;
  }
  const log = options.logger;
  const onEvent = (event: ProgressEvent) => {
    if (log && event.type === "step") {
      const { step, status, detail } = event.step;
      const line = `rotation=${id} store=${store.name} step=${step} status=${status}${detail ? ` ${detail}` : ""}`;
      if (status === "failed") log.warn(line);
      else if (status === "retry") log.debug(line);
      else log.info(line);
    }
    options.onEvent?.(event);
  };

  const state = await runRotation(start, {
    store,
    aws,
    secrets,
    ...(credentials ? { credentials } : {}),
    onEvent,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(journal
      ? {
          persist: (s: RotationState, sec: RotationSecrets) =>
            untouchedJournal(s) ? Promise.resolve() : journal.save(journalEntry(id, s, sec, new Date(), createdAt)),
        }
      : {}),
  });
  // The machine says when the journal must stay (a failed rollback, which the next run or `keyup
  // recover` tries again; a journal that no longer matches IAM, for a person to look at).
  if (journal && !state.keepJournal) await journal.clear().catch(() => undefined);
  // The same goes for the backup, which the next steps point at; otherwise nothing can need it, and
  // for a file store it is a copy of old secrets.
  if (state.backup && !state.keepJournal && store.discard) {
    const backup = state.backup;
    await store.discard(backup).catch((error: unknown) => {
      log?.warn(
        `rotation=${id} store=${store.name} could not delete the backup ${backup.location ?? backup.id}: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }
  return ok(state);
}

/** Opens the MFA session IAM calls are signed with: GetSessionToken signed by the store's key. */
async function mfaSession(
  store: CredentialStore,
  aws: AwsPort,
  mfa: MfaOptions,
  secrets: RotationSecrets,
  durationSeconds: number,
): Promise<Result<SigningCredentials, RotationError>> {
  let key = secrets.old;
  if (!key) {
    const read = await callStore(store, "read", () => store.read());
    if (read.isErr()) return err(read.error);
    if (!read.value) return err({ kind: "config", message: `${store.name} holds no access key: there is nothing to rotate` });
    key = read.value;
  }
  return openSession(aws, key, mfa, durationSeconds);
}

/**
 * A resumed journal is written again only once the machine's check against IAM let it go on: while it
 * checks, and when the check refuses it, the journal stays exactly as the crashed run left it, for a
 * person (or a later run) to read.
 */
/**
 * A refusal when the store's key is also held somewhere the rotation would not update (another profile
 * of the file, another hard link): deleting the old key would lock that holder out. A store that
 * cannot be read is left to the rotation, which reports why.
 */
async function holdersLeftBehind(store: CredentialStore): Promise<StoreError | undefined> {
  if (!store.otherHolders) return undefined;
  const held = await callStore(store, "read", () => store.read());
  if (held.isErr() || !held.value) return undefined;
  const keyId = held.value.accessKeyId;
  const holders = await callStore(store, "otherHolders", async () => (await store.otherHolders?.(keyId)) ?? []);
  if (holders.isErr()) return holders.error.kind === "store" ? holders.error : undefined;
  if (holders.value.length === 0) return undefined;
  return {
    kind: "store",
    store: store.name,
    code: "ESHARED",
    message: `${store.name}: ${keyId} is also held by ${holders.value.join("; ")}, which this rotation would not update and would lock out when it deletes ${keyId}. Rotate them together (rotateMany, or keyup --profiles with every profile holding it), or give each its own key; nothing was changed`,
  };
}

function untouchedJournal(state: RotationState): boolean {
  return state.phase === "resuming" || (state.phase === "done" && state.failure?.phase === "resuming");
}

function toOutcome(state: RotationState, journal: string | undefined): Result<RotationReport, RotationError> {
  const error = errorOf(state, journal);
  return error ? err(error) : ok(reportOf(state));
}

function journalFor(store: CredentialStore, option: RotationJournal | false | undefined): RotationJournal | undefined {
  if (option === false) return undefined;
  if (option) return option;
  // A store whose content dies with the process (memoryStore) gains nothing from a journal on disk.
  const durable = (typeof store.journalPath === "string" && store.journalPath !== "") || store.capabilities?.durableBackup === true;
  return durable ? defaultJournal(store) : undefined;
}

function journalError(journal: RotationJournal, error: unknown): JournalError {
  const message = error instanceof Error ? error.message : String(error);
  return { kind: "journal", location: journal.location, message, cause: error };
}

function pendingOf(entry: JournalEntry, journal: RotationJournal): PendingRotation {
  const s = entry.state;
  return {
    id: entry.id,
    store: entry.store,
    phase: s.phase === "done" ? `done (${s.outcome})` : s.phase,
    ...(s.userName ? { userName: s.userName } : {}),
    ...(s.oldAccessKeyId ? { oldAccessKeyId: s.oldAccessKeyId } : {}),
    ...(s.newAccessKeyId ? { newAccessKeyId: s.newAccessKeyId } : {}),
    journal: journal.location,
    startedAt: entry.createdAt,
    writer: journalHolder(entry),
    holdsNewSecret: entry.secrets.new !== undefined,
  };
}

function emitSafely(onEvent: ((e: ProgressEvent) => void) | undefined, event: ProgressEvent): void {
  try {
    onEvent?.(event);
  } catch {
    // progress callbacks never break a rotation
  }
}

function checkRotateOptions(options: RotateOptions): Result<{ store: CredentialStore; config: RotationConfig }, ConfigError> {
  if (typeof options !== "object" || options === null) return err({ kind: "config", message: "rotate() needs options with a store" });
  if (options.store !== undefined && options.stores !== undefined) return err({ kind: "config", message: "give store or stores, not both" });
  let combined: unknown = options.store;
  if (options.stores !== undefined) {
    if (!Array.isArray(options.stores)) return err({ kind: "config", message: "stores must be an array of CredentialStores" });
    for (const part of options.stores) {
      const checkedPart = checkStore(part);
      if (checkedPart.isErr()) return err(checkedPart.error);
    }
    try {
      combined = options.stores.length === 1 ? options.stores[0] : compositeStore(options.stores);
    } catch (error) {
      return err({ kind: "config", message: error instanceof Error ? error.message : String(error), cause: error });
    }
  }
  const store = checkStore(combined);
  if (store.isErr()) return err(store.error);
  const aws = checkAwsOptions(options);
  if (aws.isErr()) return err(aws.error);
  const userName = checkUserName(options.userName);
  if (userName.isErr()) return err(userName.error);
  const problem = checkRotateSettings(options);
  if (problem) return err(rotateOptionError(problem, options));
  const { minAgeMs: minAge, keepOldForMs: grace, description } = options;
  const timeout = options.verifyTimeoutMs ?? defaultRotationConfig.verifyTimeoutMs;
  const oldKey = options.oldKey ?? "delete";
  const successes = options.requiredSuccesses ?? defaultRotationConfig.requiredSuccesses;
  if (!Number.isInteger(successes) || successes < 1 || successes > 20)
    return err({ kind: "config", message: `requiredSuccesses must be a whole number from 1 to 20, got ${successes}` });
  const onLimit = options.onLimit ?? "refuse";
  if (onLimit !== "refuse" && onLimit !== "delete-inactive")
    return err({ kind: "config", message: `onLimit must be "refuse" or "delete-inactive", got ${String(onLimit)}` });
  if (options.mfa !== undefined && (typeof options.mfa.serialNumber !== "string" || !options.mfa.serialNumber || typeof options.mfa.tokenCode !== "function")) {
    return err({ kind: "config", message: "mfa needs a serialNumber and a tokenCode function" });
  }
  if (options.journal !== undefined && options.journal !== false) {
    const j = options.journal as Partial<RotationJournal>;
    if (typeof j.load !== "function" || typeof j.save !== "function" || typeof j.clear !== "function") {
      return err({ kind: "config", message: "journal must have load(), save() and clear(), or be false" });
    }
  }
  return ok({
    store: store.value,
    config: {
      ...defaultRotationConfig,
      ...(userName.value !== undefined ? { userName: userName.value } : {}),
      verifyTimeoutMs: timeout,
      requiredSuccesses: successes,
      onLimit,
      oldKey: grace !== undefined ? "deactivate" : oldKey,
      iamSigner: options.credentials || options.mfa ? "credentials" : "store-keys",
      inUseGuard: options.inUseGuard === true,
      ...(options.ownUseSince instanceof Date && Number.isFinite(options.ownUseSince.getTime()) ? { ownUseSinceMs: options.ownUseSince.getTime() } : {}),
      ...(minAge !== undefined ? { minAgeMs: minAge } : {}),
      ...(grace !== undefined ? { keepOldForMs: grace } : {}),
      ...(description !== undefined ? { description } : {}),
    },
  });
}

/**
 * What a rotation would do, worked out by running the real state machine against IAM's read-only
 * answers with every write simulated.
 *
 * @example
 * ```ts
 * const p: RotationPlan = { store: "ini:…#ci", userName: "ci-bot", oldAccessKeyId: "AKIA…", outcome: "rotated", actions: ["create a new access key for IAM user ci-bot"] };
 * ```
 */
export interface RotationPlan {
  readonly store: string;
  readonly userName?: string;
  readonly oldAccessKeyId?: string;
  /** What the rotation would end with: `rotated`, `skipped`, or `completed-with-warnings` (for example the in-use guard). */
  readonly outcome: RotationReport["outcome"];
  /** The writes it would make, in order, in words. */
  readonly actions: readonly string[];
  readonly warnings: readonly string[];
}

/** The key id a plan uses for the key it would create. */
const PLANNED_KEY = "AKIA0000PLANNEDNEWKEY";

/**
 * A dry run: what `rotate()` would do with these options — which key it would create, which store
 * entries it would change, which keys it would deactivate or delete — with no write to IAM or any store
 * (only read-only calls: GetCallerIdentity, ListAccessKeys, ListUserTags, GetAccessKeyLastUsed). A rotation
 * that would fail (the 2-key limit, a bad store) fails the same way here. Never throws.
 *
 * @example
 * ```ts
 * const result = await plan({ store: iniStore({ profile: "ci" }) });
 * if (result.isOk()) for (const action of result.value.actions) console.log(`would ${action}`);
 * ```
 */
export function plan(options: RotateOptions): ResultAsync<RotationPlan, RotationError> {
  const checked = checkRotateOptions(options);
  if (checked.isErr()) return errAsync(checked.error);
  const { store, config } = checked.value;
  const real = options.aws ?? createAwsPort(options);
  const actions: string[] = [];
  let arn: string | undefined;
  const planned = { accessKeyId: PLANNED_KEY, secretAccessKey: "planned-not-a-secret" };
  const port: AwsPort = {
    ...real,
    getCallerIdentity: async (c) => {
      if (c.accessKeyId !== PLANNED_KEY) {
        const identity = await real.getCallerIdentity(c);
        arn = identity.arn;
        return identity;
      }
      return { arn: arn ?? `arn:aws:iam::000000000000:user/${config.userName ?? "unknown"}`, account: "" };
    },
    // Verify's IAM confirmation with the planned key: it would list the user's keys.
    listAccessKeys: async (u, c) => (c.accessKeyId === PLANNED_KEY ? [] : real.listAccessKeys(u, c)),
    listUserTags: async (u, c) => real.listUserTags(u, c).catch(() => ({})),
    getAccessKeyLastUsed: async (id, c) => (c.accessKeyId === PLANNED_KEY ? {} : real.getAccessKeyLastUsed(id, c)),
    createAccessKey: async (u) => {
      actions.push(`create a new access key for IAM user ${u}`);
      return planned;
    },
    updateAccessKey: async (u, id, status) => {
      actions.push(`set ${u}'s key ${id} to ${status}`);
    },
    deleteAccessKey: async (u, id) => {
      actions.push(`delete ${u}'s key ${id}`);
    },
    tagUser: async (u, tags) => {
      actions.push(`tag ${u} with ${tags.map((t) => `${t.key}=${t.value}`).join(", ")}`);
    },
    untagUser: async (u, keys) => {
      actions.push(`remove tags ${keys.join(", ")} from ${u}`);
    },
  };
  let written: AccessKeyPair | undefined;
  let verifyPlanned = false;
  const dryStore: CredentialStore = {
    name: store.name,
    capabilities: store.capabilities,
    lockDomain: store.lockDomain,
    read: async () => written ?? store.read(),
    backup: async () => ({ id: "planned" }),
    write: async (key) => {
      actions.push(`write the new key into ${store.name} (replacing ${(await store.read())?.accessKeyId ?? "nothing"})`);
      written = key;
    },
    restore: async () => undefined,
    lock: async () => ({ release: async () => undefined }),
  };
  return ResultAsync.fromPromise(
    runRotation(initialRotationState(store.name, config), {
      store: dryStore,
      aws: port,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      sleep: async () => undefined,
      // The machine's first verify effect follows the install: say what it would check, in order.
      onEvent: (event) => {
        if (event.type !== "step-started" || event.effect.type !== "verify" || verifyPlanned) return;
        verifyPlanned = true;
        actions.push(`verify the new key with STS and IAM (${config.requiredSuccesses} consecutive successes) before touching the old one`);
      },
    }),
    (bug): RotationError => ({ kind: "internal", message: `keyup bug: the plan stopped unexpectedly: ${String(bug)}`, cause: bug }),
  ).andThen((state): Result<RotationPlan, RotationError> => {
    const error = errorOf(state);
    if (error) return err(error);
    return ok({
      store: store.name,
      ...(state.userName ? { userName: state.userName } : {}),
      ...(state.oldAccessKeyId ? { oldAccessKeyId: state.oldAccessKeyId } : {}),
      outcome: state.outcome ?? "failed",
      actions: actions.map((a) => a.replace(PLANNED_KEY, "the new key")),
      warnings: state.warnings.map((w) => w.replaceAll(PLANNED_KEY, "the new key")),
    });
  });
}

import { err, errAsync, ok, type Result, ResultAsync } from "neverthrow";
import { adaptiveLimit } from "./_internal/adaptive-limit.js";
import { runBounded } from "./_internal/bounded.js";
import { heldStore, type LockDomain, lockAll, lockDomains, releaseAll } from "./_internal/fleet-locks.js";
import { checkAwsOptions, checkStore, checkUserName } from "./_internal/options.js";
import { createAwsPort } from "./aws-port.js";
import type { CredentialStore } from "./credential-store.js";
import type { ConfigError, KeyupError, RotationError } from "./errors.js";
import type { RotationOutcome, RotationReport } from "./report.js";
import { pendingRotations, type RotateOptions, rotate } from "./rotate.js";
import type { ProgressEvent } from "./runner.js";

/**
 * Options for {@link rotateMany}: the stores, how many rotations run at once, and every
 * {@link RotateOptions} field but `store`/`stores`, applied to each rotation.
 *
 * @example
 * ```ts
 * const options: RotateManyOptions = {
 *   stores: ["ci", "deploy", "backup"].map((profile) => iniStore({ profile })),
 *   concurrency: 4,
 *   onResult: (r) => console.log(r.store, r.outcome),
 * };
 * ```
 */
export interface RotateManyOptions extends Omit<RotateOptions, "store" | "stores" | "journal" | "onEvent"> {
  /** One store per key location (for example one `iniStore` per profile). Names must be unique. */
  readonly stores: readonly CredentialStore[];
  /**
   * At most this many rotations run at once. Default 12. The fleet starts there and halves it while a
   * quarter or more of recent IAM answers are throttled, then climbs back by one per finished rotation.
   */
  readonly concurrency?: number;
  /** Called once per store as soon as its rotation ends. Never carries a secret; a throw is ignored. */
  readonly onResult?: (result: FleetResult) => void;
  /** Progress of every rotation, with the name of the rotation (a store, or a composite of stores sharing a key). */
  readonly onEvent?: (event: ProgressEvent, store: string) => void;
  /**
   * `false` turns journals off. Otherwise each rotation keeps its own default journal (one journal
   * cannot record several rotations, so a journal object is not accepted here).
   */
  readonly journal?: false;
}

/**
 * What became of one store of the fleet. Holds no secret: key ids, names and messages only.
 *
 * @example
 * ```ts
 * const r: FleetResult = { store: "ini:/home/me/.aws/credentials#ci", sharedWith: [], outcome: "rotated", oldAccessKeyId: "AKIA…1", newAccessKeyId: "AKIA…2", durationMs: 1840 };
 * ```
 */
export interface FleetResult {
  /** The store's name. */
  readonly store: string;
  /** The other stores of the fleet that held the same key and were rotated together with this one (one new key for all). */
  readonly sharedWith: readonly string[];
  /** How the rotation ended; `failed` also when it never started (lock held elsewhere, fleet aborted). */
  readonly outcome: RotationOutcome;
  /** The IAM user whose key rotated, once known. */
  readonly userName?: string;
  /** The key the store held when its rotation started. */
  readonly oldAccessKeyId?: string;
  /** The key its rotation created, if it got that far (on failure it was deleted again unless `report.leftovers` says otherwise). */
  readonly newAccessKeyId?: string;
  /** Why it did not rotate: the typed error, without its `cause`. */
  readonly error?: KeyupError;
  /** The rotation's full report (steps, warnings, manual steps), when it got as far as IAM. */
  readonly report?: RotationReport;
  /** Wall time of this store's rotation (shared by the stores rotated together). */
  readonly durationMs: number;
}

/**
 * What {@link rotateMany} did: one result per store, in the order the stores were given, and counts.
 * `rotated + warnings + skipped + failed === results.length`.
 *
 * @example
 * ```ts
 * const report: FleetReport = { results: [], rotated: 0, failed: 0, warnings: 0, skipped: 0, durationMs: 3 };
 * ```
 */
export interface FleetReport {
  /** One per store, in the order given to {@link rotateMany}. */
  readonly results: readonly FleetResult[];
  /** Stores whose outcome is `rotated`. */
  readonly rotated: number;
  /** Stores whose outcome is `failed`, `rolled-back` or `rollback-failed`. */
  readonly failed: number;
  /** Stores whose outcome is `completed-with-warnings` (new key in place, old key not retired as asked). */
  readonly warnings: number;
  /** Stores left as they were on purpose (outcome `skipped`, for example a key younger than `minAgeMs`). */
  readonly skipped: number;
  /** Wall time of the whole fleet. */
  readonly durationMs: number;
}

// 12 lanes: in interleaved runs of bench 3 (100 profiles, 5 % throttled) 12 finished 12-21 % sooner
// than 8 with no failure, and 16 no clearly sooner than 12 (medians of 12 interleaved runs each: 10.40
// and 10.65 s, 16 ahead in 8 of the 12 pairs, within the machine's run-to-run spread of 8-13 s): more
// lanes would only put more calls at once to IAM, whose throttling is per account.
const DEFAULT_CONCURRENCY = 12;

/**
 * Rotates the keys of many stores, a few at a time, each rotation exactly as {@link rotate} does it.
 *
 * - Stores that share a lock (the same declared `lockDomain`: profiles of one credentials file, a
 *   symlink to it included) are locked once for the whole fleet, and their reads and writes are
 *   serialised in this process, so profiles of one file rotate in parallel without losing each
 *   other's edits. If the file is locked by someone else, every store of that file fails with a
 *   `lock` error; other files go ahead. A store that declares no `lockDomain` fails with a `config`
 *   error without being locked: the fleet cannot tell which other stores share its lock.
 * - Stores that hold the same key are rotated once, together: one new key installed into all of them.
 *   A key also held by a store whose lock could not be taken is not rotated at all (that store would
 *   be left holding a deleted key): its other stores fail with a `lock` error saying so.
 * - A store whose own earlier rotation was interrupted (its journal is still there) is finished or
 *   rolled back first, alone, before the other stores are read.
 * - One store failing never affects another. Every lock is released at the end, whatever happened.
 *
 * `Err` only for options that are wrong for the whole fleet (nothing is touched then); each store's
 * failure is in its {@link FleetResult}. Never throws.
 *
 * @example
 * ```ts
 * import { formatFleetTable, rotateMany } from "@keyup/core";
 * import { iniStore } from "@keyup/store-ini";
 *
 * const result = await rotateMany({ stores: ["ci", "deploy", "backup"].map((profile) => iniStore({ profile })) });
 * if (result.isErr()) throw new Error(result.error.message);
 * console.log(formatFleetTable(result.value));
 * if (result.value.failed > 0) process.exitCode = 1;
 * ```
 */
export function rotateMany(options: RotateManyOptions): ResultAsync<FleetReport, KeyupError> {
  const checked = checkFleetOptions(options);
  if (checked.isErr()) return errAsync(checked.error);
  return ResultAsync.fromPromise(
    runFleet(options, checked.value),
    (bug): KeyupError => ({ kind: "internal", message: `keyup bug: the fleet rotation stopped unexpectedly: ${String(bug)}`, cause: bug }),
  );
}

/**
 * A plain-text table of a fleet report: one row per store (store, outcome, old key, new key, seconds),
 * then a summary line and the reason for each store that did not rotate. Holds no secret.
 *
 * @example
 * ```ts
 * const result = await rotateMany({ stores });
 * if (result.isOk()) console.log(formatFleetTable(result.value));
 * // STORE                          OUTCOME  OLD KEY               NEW KEY               SECONDS
 * // ini:/home/me/.aws/credentials#ci  rotated  AKIA…                 AKIA…                 1.8
 * // …
 * ```
 */
export function formatFleetTable(report: FleetReport): string {
  const header = ["STORE", "OUTCOME", "OLD KEY", "NEW KEY", "SECONDS"];
  const rows = report.results.map((r) => [r.store, r.outcome, r.oldAccessKeyId ?? "-", r.newAccessKeyId ?? "-", (r.durationMs / 1000).toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  const summary = `${report.results.length} ${report.results.length === 1 ? "store" : "stores"}: ${report.rotated} rotated, ${report.warnings} with warnings, ${report.skipped} skipped, ${report.failed} failed in ${(report.durationMs / 1000).toFixed(1)} s`;
  const reasons = report.results.flatMap((r) => {
    if (r.error) return [`${r.store}: ${r.error.message}`];
    if (r.outcome === "completed-with-warnings") return (r.report?.warnings ?? []).map((w) => `${r.store}: ${w}`);
    return [];
  });
  return [line(header), ...rows.map(line), "", summary, ...reasons].join("\n");
}

// ---------------------------------------------------------------------------------------------

interface FleetConfig {
  readonly stores: readonly CredentialStore[];
  readonly concurrency: number;
}

/** A store as one rotation sees it: the caller's store and its fleet wrapper. */
interface Member {
  readonly store: CredentialStore;
  readonly held: CredentialStore;
}

async function runFleet(options: RotateManyOptions, config: FleetConfig): Promise<FleetReport> {
  const started = Date.now();
  const { stores, concurrency: _concurrency, onResult, onEvent, ...shared } = options;
  // Fewer lanes while IAM throttles a sustained share of the fleet's requests (see adaptive-limit.ts).
  const limit = adaptiveLimit({ max: config.concurrency });
  // One port for the fleet: its SDK clients (one per signing key) are reused instead of built per rotation.
  const aws =
    shared.aws ??
    createAwsPort({
      ...shared,
      onResponse: (answer) => {
        limit.response(answer.throttled);
        shared.onResponse?.(answer);
      },
    });
  const results = new Map<string, FleetResult>();
  const record = (result: FleetResult) => {
    results.set(result.store, result);
    try {
      onResult?.(result);
    } catch {
      // a faulty callback must not break the fleet
    }
  };

  const rotateGroup = async (group: readonly Member[]): Promise<void> => {
    const start = Date.now();
    let outcome: Result<RotationReport, RotationError>;
    if (shared.signal?.aborted) {
      outcome = err({ kind: "aborted", message: "not started: the fleet rotation was aborted" });
    } else {
      try {
        const parts = group.length === 1 ? { store: (group[0] as Member).held } : { stores: group.map((m) => m.held) };
        const name = group.length === 1 ? (group[0] as Member).store.name : `composite(${group.map((m) => m.store.name).join(", ")})`;
        outcome = await rotate({
          ...shared,
          ...parts,
          aws,
          ...(onEvent ? { onEvent: (event: ProgressEvent) => onEvent(event, name) } : {}),
        });
      } catch (bug) {
        outcome = err({ kind: "internal", message: `keyup bug: the rotation stopped unexpectedly: ${String(bug)}`, cause: bug });
      }
    }
    const durationMs = Date.now() - start;
    limit.completed();
    for (const member of group) record(resultOf(member, group, outcome, durationMs));
  };

  const domains = await lockDomains(config.stores);
  try {
    await lockAll(domains);
    const ready: Member[] = [];
    // Key ids held by stores that could not be locked: rotating such a key would delete it under them.
    const unreachable = new Map<string, { readonly stores: CredentialStore[]; readonly domain: LockDomain }>();
    for (const domain of domains) {
      if (domain.error) {
        for (const store of domain.members) {
          record(lockFailure(store, domain));
          // A read takes no lock, and file stores replace their files atomically: safe beside the holder.
          const id = await readKeyId(store);
          if (id === undefined) continue;
          const found = unreachable.get(id);
          if (found) found.stores.push(store);
          else unreachable.set(id, { stores: [store], domain });
        }
      } else {
        for (const store of domain.members) ready.push({ store, held: heldStore(store, domain.mutex) });
      }
    }

    // An interrupted rotation is finished (or undone) before anything else reads its store: it may be
    // about to retire the very key other stores hold.
    const interrupted = shared.journal === false ? [] : await withPendingJournal(ready);
    await runBounded(
      interrupted.map((m) => () => rotateGroup([m])),
      limit.current,
    );

    const rest = ready.filter((m) => !interrupted.includes(m));
    const groups = await groupBySharedKey(rest);
    for (const { keyId, members } of groups) {
      const blocked = keyId === undefined ? undefined : unreachable.get(keyId);
      if (blocked) for (const member of members) record(blockedBy(member, members, keyId as string, blocked));
    }
    await runBounded(
      groups.filter((g) => g.keyId === undefined || !unreachable.has(g.keyId)).map((g) => () => rotateGroup(g.members)),
      limit.current,
    );
  } finally {
    await releaseAll(domains);
  }

  const ordered = config.stores.map((s) => results.get(s.name) ?? neverRan(s));
  const count = (test: (o: RotationOutcome) => boolean) => ordered.filter((r) => test(r.outcome)).length;
  return {
    results: ordered,
    rotated: count((o) => o === "rotated"),
    warnings: count((o) => o === "completed-with-warnings"),
    failed: count((o) => o === "failed" || o === "rolled-back" || o === "rollback-failed"),
    skipped: count((o) => o !== "rotated" && o !== "completed-with-warnings" && o !== "failed" && o !== "rolled-back" && o !== "rollback-failed"),
    durationMs: Date.now() - started,
  };
}

/** Members whose own journal records an unfinished rotation (or cannot be read: rotating it alone reports why). */
async function withPendingJournal(members: readonly Member[]): Promise<Member[]> {
  const found: Member[] = [];
  for (const member of members) {
    const pending = await pendingRotations({ store: member.store });
    if (pending.isErr() || pending.value.length > 0) found.push(member);
  }
  return found;
}

/**
 * Members that hold the same access key id, each group ordered by name so that the composite (and
 * so its journal) is the same from one run to the next. A store that cannot be read, or holds no key,
 * is a group of its own: its rotation then fails with the store's own error.
 */
async function groupBySharedKey(members: readonly Member[]): Promise<{ keyId?: string; members: Member[] }[]> {
  const groups = new Map<string, { keyId?: string; members: Member[] }>();
  for (const member of members) {
    const keyId = await readKeyId(member.held);
    const id = keyId === undefined ? `alone:${member.store.name}` : `key:${keyId}`;
    const group = groups.get(id);
    if (group) group.members.push(member);
    else groups.set(id, { ...(keyId !== undefined ? { keyId } : {}), members: [member] });
  }
  for (const group of groups.values()) group.members.sort((a, b) => (a.store.name < b.store.name ? -1 : a.store.name > b.store.name ? 1 : 0));
  return [...groups.values()];
}

/** The access key id a store holds, or `undefined` when it holds none or cannot be read (its rotation will say why). */
async function readKeyId(store: CredentialStore): Promise<string | undefined> {
  try {
    const key = await store.read();
    return key && typeof key.accessKeyId === "string" ? key.accessKeyId : undefined;
  } catch {
    return undefined;
  }
}

function resultOf(member: Member, group: readonly Member[], outcome: Result<RotationReport, RotationError>, durationMs: number): FleetResult {
  const sharedWith = group.filter((m) => m !== member).map((m) => m.store.name);
  const report = outcome.isOk() ? outcome.value : outcome.error.report;
  return {
    store: member.store.name,
    sharedWith,
    outcome: outcome.isOk()
      ? outcome.value.outcome
      : report && report.outcome !== "rotated" && report.outcome !== "completed-with-warnings"
        ? report.outcome
        : "failed",
    ...(report?.userName !== undefined ? { userName: report.userName } : {}),
    ...(report?.oldAccessKeyId !== undefined ? { oldAccessKeyId: report.oldAccessKeyId } : {}),
    ...(report?.newAccessKeyId !== undefined ? { newAccessKeyId: report.newAccessKeyId } : {}),
    ...(outcome.isErr() ? { error: withoutCause(outcome.error) } : {}),
    ...(report ? { report } : {}),
    durationMs,
  };
}

function lockFailure(store: CredentialStore, domain: LockDomain): FleetResult {
  const error = domain.error as KeyupError;
  const first = domain.members[0] as CredentialStore;
  const message = store === first ? error.message : `${store.name} shares its lock with ${first.name}: ${error.message}`;
  return {
    store: store.name,
    sharedWith: [],
    outcome: "failed",
    error: { ...withoutCause(error), ...("store" in error ? { store: store.name } : {}), message },
    durationMs: 0,
  };
}

/** A member whose key is also held by a store the fleet could not lock: it is not rotated. */
function blockedBy(
  member: Member,
  group: readonly Member[],
  keyId: string,
  blocked: { readonly stores: readonly CredentialStore[]; readonly domain: LockDomain },
): FleetResult {
  const others = blocked.stores.map((s) => s.name);
  const cause = blocked.domain.error as KeyupError;
  return {
    store: member.store.name,
    sharedWith: [...group.filter((m) => m !== member).map((m) => m.store.name), ...others],
    outcome: "failed",
    oldAccessKeyId: keyId,
    error: {
      kind: "lock",
      store: member.store.name,
      ...(cause.kind === "lock" && cause.holder !== undefined ? { holder: cause.holder } : {}),
      message: `${member.store.name} holds the key ${keyId} that ${others.join(", ")} also holds, which could not be locked (${cause.message}): rotating it now would leave ${others.length > 1 ? "them" : "it"} holding a deleted key. Nothing was changed`,
    },
    durationMs: 0,
  };
}

function neverRan(store: CredentialStore): FleetResult {
  return {
    store: store.name,
    sharedWith: [],
    outcome: "failed",
    error: { kind: "internal", message: `keyup bug: ${store.name} was never rotated` },
    durationMs: 0,
  };
}

/**
 * The error as a fleet result carries it: the typed fields and message, without `cause` (an SDK or
 * file-system object that a fleet report, printed or logged whole, has no use for) and without the
 * attached report (kept beside it in {@link FleetResult.report}) unless the error kind requires one.
 */
function withoutCause(error: RotationError): KeyupError {
  const { cause: _cause, report, ...rest } = error as RotationError & { cause?: unknown };
  return (error.kind === "rollback-failed" ? { ...rest, report } : rest) as KeyupError;
}

function checkFleetOptions(options: RotateManyOptions): Result<FleetConfig, ConfigError> {
  if (typeof options !== "object" || options === null) return err({ kind: "config", message: "rotateMany() needs options with stores" });
  if ((options as { store?: unknown }).store !== undefined)
    return err({ kind: "config", message: "rotateMany() takes stores (one per key location), not store: use rotate() for a single store" });
  if (!Array.isArray(options.stores)) return err({ kind: "config", message: "stores must be an array of CredentialStores" });
  const names = new Set<string>();
  for (const [i, candidate] of options.stores.entries()) {
    const store = checkStore(candidate);
    if (store.isErr()) return err({ ...store.error, message: `stores[${i}]: ${store.error.message}` });
    if (names.has(store.value.name)) return err({ kind: "config", message: `stores[${i}]: ${store.value.name} is in the list twice` });
    names.add(store.value.name);
  }
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    return err({ kind: "config", message: `concurrency must be a whole number of at least 1, got ${String(concurrency)}` });
  if (options.onResult !== undefined && typeof options.onResult !== "function") return err({ kind: "config", message: "onResult must be a function" });
  if (options.onEvent !== undefined && typeof options.onEvent !== "function") return err({ kind: "config", message: "onEvent must be a function" });
  if (options.journal !== undefined && options.journal !== false)
    return err({
      kind: "config",
      message: "journal may only be false for rotateMany(): each store keeps its own journal, and one journal cannot record several rotations",
    });
  const aws = checkAwsOptions(options);
  if (aws.isErr()) return err(aws.error);
  const userName = checkUserName(options.userName);
  if (userName.isErr()) return err(userName.error);
  return ok({ stores: options.stores, concurrency });
}

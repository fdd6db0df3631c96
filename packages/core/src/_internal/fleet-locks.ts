import { realpath } from "node:fs/promises";
import { resolve } from "node:path";
import type { CredentialStore, StoreBackup, StoreLock, StoreLockDomain } from "../credential-store.js";
import type { KeyupError } from "../errors.js";
import { callStore } from "./options.js";

/** Runs async work one piece at a time, in call order. */
export interface Mutex {
  run<T>(work: () => Promise<T>): Promise<T>;
}

/** An in-process mutex: a promise chain, each piece of work starting once the previous one settled. */
export function createMutex(): Mutex {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(work: () => Promise<T>): Promise<T> {
      const result = tail.then(work);
      tail = result.catch(() => undefined);
      return result;
    },
  };
}

/** Stores that share one underlying lock (one file), with the lock once taken and the mutex their I/O goes through. */
export interface LockDomain {
  /** `file:<real path>`, `resource:<id>` or `own:<name>`, from each member's declared `lockDomain`. */
  readonly key: string;
  readonly members: readonly CredentialStore[];
  readonly mutex: Mutex;
  /** Set once the domain's lock is held. */
  lock?: StoreLock;
  /** Set when the lock could not be taken (or the store declared no domain): every member fails with it. */
  error?: KeyupError;
}

/**
 * The key of a store's declared lock domain: file paths resolved through symlinks (every alias of one
 * file shares its lock), resource ids as given. A store without a valid declaration (plain JavaScript,
 * or a cast) gets `undefined`: it is refused, never silently given a lock of its own.
 */
async function domainKeyOf(store: CredentialStore): Promise<string | undefined> {
  const domain = (store as { readonly lockDomain?: unknown }).lockDomain as StoreLockDomain | undefined;
  switch (domain?.kind) {
    case "file": {
      if (typeof domain.path !== "string" || domain.path === "") return undefined;
      const absolute = resolve(domain.path);
      return `file:${await realpath(absolute).catch(() => absolute)}`;
    }
    case "resource":
      return typeof domain.id === "string" && domain.id !== "" ? `resource:${domain.id}` : undefined;
    case "own":
      return `own:${store.name}`;
    default:
      return undefined;
  }
}

/**
 * Groups `stores` by lock domain, domains sorted by key and members kept in the order given. A store
 * that declares no lock domain gets a domain of its own that already failed, so the fleet reports it
 * (and blocks stores holding its key) without calling its `lock()`.
 */
export async function lockDomains(stores: readonly CredentialStore[]): Promise<LockDomain[]> {
  const byKey = new Map<string, CredentialStore[]>();
  const undeclared: LockDomain[] = [];
  for (const store of stores) {
    const key = await domainKeyOf(store);
    if (key === undefined) {
      undeclared.push({ key: `undeclared:${store.name}`, members: [store], mutex: createMutex(), error: undeclaredDomain(store) });
      continue;
    }
    const members = byKey.get(key);
    if (members) members.push(store);
    else byKey.set(key, [store]);
  }
  const declared = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, members]) => ({ key, members, mutex: createMutex() }));
  return [...declared, ...undeclared];
}

function undeclaredDomain(store: CredentialStore): KeyupError {
  return {
    kind: "config",
    message:
      `${store.name} declares no lockDomain, so the fleet cannot tell which other stores share its lock; ` +
      `give it one ({ kind: "file", path } for a store over a file) or rotate it on its own`,
  };
}

/**
 * Takes each domain's lock once, through its first member (for a file store, `lock()` locks the whole
 * file whichever profile asks). Locks fail at once when held, so taking them one after another in key
 * order cannot deadlock and costs little.
 */
export async function lockAll(domains: readonly LockDomain[]): Promise<void> {
  for (const domain of domains) {
    if (domain.error) continue;
    const first = domain.members[0] as CredentialStore;
    const taken = await callStore(first, "lock", () => first.lock());
    if (taken.isOk()) domain.lock = taken.value;
    else domain.error = taken.error;
  }
}

/** Releases every lock taken, whatever happened; a failed release does not stop the others. */
export async function releaseAll(domains: readonly LockDomain[]): Promise<void> {
  for (const domain of domains) {
    const lock = domain.lock;
    domain.lock = undefined;
    await lock?.release().catch(() => undefined);
  }
}

/**
 * `store` as one rotation of the fleet sees it: its lock is already held by the fleet, so `lock()`
 * is a no-op; reads and writes go through the domain's mutex so that no two read-modify-writes of the
 * same file interleave (each would otherwise write back the file it read, losing the other's change).
 * Name, capabilities and journal path are the store's own, so journals and reports match a plain
 * `rotate()` of the same store.
 */
export function heldStore(store: CredentialStore, mutex: Mutex): CredentialStore {
  const discard = store.discard?.bind(store);
  return {
    ...store,
    name: store.name,
    capabilities: store.capabilities,
    lockDomain: store.lockDomain,
    ...(store.journalPath !== undefined ? { journalPath: store.journalPath } : {}),
    read: () => mutex.run(() => store.read()),
    backup: () => mutex.run(() => store.backup()),
    write: (key) => mutex.run(() => store.write(key)),
    restore: (backup) => mutex.run(() => store.restore(backup)),
    ...(discard ? { discard: (backup: StoreBackup) => mutex.run(() => discard(backup)) } : {}),
    lock: async () => ({ release: async () => undefined }),
  };
}

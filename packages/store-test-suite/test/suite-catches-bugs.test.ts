import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  type AccessKeyPair,
  type CredentialStore,
  createStoreError,
  isAccessKeyPair,
  type StoreBackup,
  type StoreCapabilities,
  type StoreLockDomain,
} from "@keyup/core";
import { type CreateCredentialStoreFixture, type CredentialStoreTestSuiteOptions, credentialStoreTestCases } from "@keyup/store-test-suite";
import { describe, type ExpectStatic, test } from "vitest";
import { fileSlot, type LockSlot, memorySlot } from "./lock-slot.js";

const lockSlotModule = fileURLToPath(new URL("./lock-slot.ts", import.meta.url));

// A small, correct store over an in-memory "disk" shared by every handle (so a second handle is
// "another process"), with raw bytes to inspect, whose lock is a file another process can take too
// (lock-slot.ts). Each bug below breaks exactly one thing in it.
type Bug =
  | "capabilitiesLie"
  | "readEmptyThrows"
  | "readTruncatesSecret"
  | "readTouches"
  | "writeIgnored"
  | "rewriteTouches"
  | "nonAtomicWrite"
  | "noValidation"
  | "restoreNoop"
  | "restoreReserializes"
  | "restoreOnce"
  | "identityBackups"
  | "restoreAcceptsUnknown"
  | "discardRestores"
  | "perHandleBackups"
  | "lockNotExclusive"
  | "lockWaits"
  | "perHandleLock"
  | "noLockDomain"
  | "ownLockDomain"
  | "lockDomainPerHandle"
  | "releaseNoop"
  | "doubleReleaseThrows"
  | "staleReleaseFrees"
  | "writeNeedsUnlocked"
  | "leakInName"
  | "leakInBackup"
  | "leakInError";

interface Disk {
  text: string | undefined;
  lock: LockSlot;
  backups: Map<string, string | undefined>;
}

const HEADER = "# keep this comment\n";
const serialise = (key: AccessKeyPair): string => `${HEADER}id = ${key.accessKeyId}\nsecret = ${key.secretAccessKey}\n`;

function parse(text: string | undefined): AccessKeyPair | undefined {
  const id = /^id = (.*)$/m.exec(text ?? "")?.[1];
  const secret = /^secret = (.*)$/m.exec(text ?? "")?.[1];
  return id !== undefined && secret !== undefined ? { accessKeyId: id, secretAccessKey: secret } : undefined;
}

// Every handle locks the one disk: a resource named after it, unless the bug says otherwise.
const handles = new WeakMap<Disk, number>();
function lockDomainFor(bug: Bug | undefined, disk: Disk): StoreLockDomain {
  if (bug === "ownLockDomain") return { kind: "own" };
  if (bug === "lockDomainPerHandle") {
    const count = (handles.get(disk) ?? 0) + 1;
    handles.set(disk, count);
    return { kind: "resource", id: `disk:test#${count}` };
  }
  return { kind: "resource", id: "disk:test" };
}

function textStore(disk: Disk, bug: Bug | undefined, name: string): CredentialStore {
  // The bug noLockDomain leaves lockDomain out, as a plain JavaScript store could.
  const own: Pick<Disk, "lock" | "backups"> = { lock: memorySlot(), backups: new Map() };
  const lockHome = bug === "perHandleLock" ? own : disk;
  const backupHome = bug === "perHandleBackups" ? own : disk;
  const identity = new WeakMap<StoreBackup, string | undefined>();
  const consumed = new Set<string>();
  let writes = 0;

  const setText = async (next: string): Promise<void> => {
    if (bug === "nonAtomicWrite") {
      // Writes the id, gives other readers a turn, then the secret: a reader can see a mix.
      const key = parse(next);
      const current = parse(disk.text);
      if (key && current) {
        disk.text = serialise({ accessKeyId: key.accessKeyId, secretAccessKey: current.secretAccessKey });
        await nextTurn();
      }
    }
    disk.text = next;
  };

  return {
    name: bug === "leakInName" ? `${name}:${parse(disk.text)?.secretAccessKey ?? "empty"}` : name,
    capabilities: { crossProcessLock: true, durableBackup: bug !== "capabilitiesLie" },
    lockDomain: bug === "noLockDomain" ? (undefined as unknown as StoreLockDomain) : lockDomainFor(bug, disk),
    read: async () => {
      if (bug === "readEmptyThrows" && parse(disk.text) === undefined) throw createStoreError("ENOTFOUND", `${name}: no key`);
      if (bug === "readTouches") disk.text = `${disk.text ?? ""}# read\n`;
      const key = parse(disk.text);
      if (key && bug === "readTruncatesSecret") return { ...key, secretAccessKey: key.secretAccessKey.slice(0, -1) };
      return key;
    },
    backup: async () => {
      const id = `sha256:${createHash("sha256")
        .update(disk.text ?? "\0absent")
        .digest("hex")}`;
      backupHome.backups.set(id, disk.text);
      const handle: StoreBackup = bug === "leakInBackup" ? { id, location: `${name}#${parse(disk.text)?.secretAccessKey}` } : { id };
      identity.set(handle, disk.text);
      return handle;
    },
    write: async (key) => {
      if (bug !== "noValidation" && !isAccessKeyPair(key)) {
        const detail = bug === "leakInError" ? ` (got ${JSON.stringify(key)})` : "";
        throw createStoreError("EBADKEY", `${name}: not an access key pair${detail}`);
      }
      if (bug === "writeNeedsUnlocked" && lockHome.lock.holder() !== undefined) throw createStoreError("ELOCKED", `${name} is locked`);
      if (bug === "writeIgnored") return;
      const current = parse(disk.text);
      if (bug !== "rewriteTouches" && current?.accessKeyId === key.accessKeyId && current.secretAccessKey === key.secretAccessKey) return;
      writes++;
      await setText(bug === "rewriteTouches" ? `${serialise(key)}# write ${writes}\n` : serialise(key));
    },
    restore: async (backup) => {
      if (bug === "restoreNoop") return;
      if (bug === "identityBackups") {
        if (!identity.has(backup)) throw createStoreError("EBACKUP", `${name}: unknown backup`);
        disk.text = identity.get(backup);
        return;
      }
      if (!backupHome.backups.has(backup.id) || consumed.has(backup.id)) {
        if (bug === "restoreAcceptsUnknown") return;
        throw createStoreError("EBACKUP", `${name}: unknown backup ${backup.id}`);
      }
      if (bug === "restoreOnce") consumed.add(backup.id);
      const text = backupHome.backups.get(backup.id);
      const key = parse(text);
      disk.text = bug === "restoreReserializes" && key ? `id = ${key.accessKeyId}\nsecret = ${key.secretAccessKey}\n` : text;
    },
    discard: async (backup) => {
      // The bug: a discard that puts the backup back, as if it were restore().
      if (bug === "discardRestores" && backupHome.backups.has(backup.id)) disk.text = backupHome.backups.get(backup.id);
      backupHome.backups.delete(backup.id);
    },
    lock: async () => {
      if (lockHome.lock.holder() !== undefined && bug !== "lockNotExclusive") {
        if (bug === "lockWaits") await new Promise((resolve) => setTimeout(resolve, 200));
        const detail = bug === "leakInError" ? ` holding ${parse(disk.text)?.secretAccessKey}` : "";
        throw createStoreError("ELOCKED", `${name} is locked${detail}`, { holder: "pid 1" });
      }
      const token = randomUUID();
      lockHome.lock.take(token);
      let released = false;
      return {
        release: async () => {
          if (bug === "releaseNoop") return;
          if (released && bug === "doubleReleaseThrows") throw createStoreError("ERELEASED", "already released");
          if (released && bug !== "staleReleaseFrees") return;
          released = true;
          if (lockHome.lock.holder() === token || bug === "staleReleaseFrees") lockHome.lock.clear();
        },
      };
    },
  };
}

const fixtureFor =
  (bug?: Bug): CreateCredentialStoreFixture =>
  ({ initial }) => {
    const dir = mkdtempSync(join(tmpdir(), "keyup-suite-bugs-"));
    const lockPath = join(dir, "disk.lock");
    const disk: Disk = { text: initial ? serialise(initial) : HEADER, lock: fileSlot(lockPath), backups: new Map() };
    return {
      store: textStore(disk, bug, "text:test"),
      reopen: () => textStore(disk, bug, "text:test"),
      readRaw: async () => disk.text,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
      inChildProcess: { module: lockSlotModule, exportName: "fileLockStore", args: [lockPath], execArgv: ["--import", "tsx"] },
    };
  };

// The two cross-process lock cases each start a node process with a TypeScript loader: measured 6-14 s
// apiece at a load average of 18 on 2 cores, so a test that runs both needs more than the project's 30 s.
const CHILD_CASES_MS = 120_000;

const capabilities: StoreCapabilities = { crossProcessLock: true, durableBackup: true };
const options: CredentialStoreTestSuiteOptions = { capabilities, lockWithinMs: 100 };

/** Runs the cases (all, or `only` those named) against the fixture and returns the names of those that failed. */
async function failingCases(createFixture: CreateCredentialStoreFixture, expect: ExpectStatic, only?: readonly string[]): Promise<string[]> {
  const failed: string[] = [];
  for (const c of credentialStoreTestCases(createFixture, options)) {
    if (only && !only.includes(c.name)) continue;
    try {
      await c.run({ expect });
    } catch {
      failed.push(c.name);
    }
  }
  return failed;
}

const allNames = credentialStoreTestCases(fixtureFor(), options).map((c) => c.name);
const named = (prefix: string): string[] => allNames.filter((name) => name.startsWith(prefix));

// For each bug, cases that must fail (others may fail too).
const mustFail: Record<Bug, string[]> = {
  capabilitiesLie: ["capabilities: the store declares exactly the capabilities the suite tests"],
  readEmptyThrows: ["read: an empty store reads undefined"],
  readTruncatesSecret: ["read: a store holding a key reads that key, from this handle and a second one"],
  readTouches: ["read: reading changes nothing"],
  writeIgnored: ["write: an empty store reads back the written key, from this handle and a second one", "write: each write replaces the key the store held"],
  rewriteTouches: ["idempotent write: writing the key the store already holds changes nothing"],
  nonAtomicWrite: ["atomic write: concurrent readers see the old key or the new one, never a mix"],
  noValidation: named("bad input: "),
  restoreNoop: ["restore: puts back exactly what a store holding a key held", "restore: puts back an empty store"],
  restoreReserializes: ["restore: puts back exactly what a store holding a key held"],
  restoreOnce: ["restore: is idempotent, and restoring unchanged content changes nothing"],
  identityBackups: ["restore: a backup handle survives a JSON round trip and restores from the copy"],
  restoreAcceptsUnknown: ["restore: a backup handle the store never made is rejected with EBACKUP and changes nothing"],
  discardRestores: ["restore: discard() leaves what the store holds as it was, and a second discard is harmless"],
  perHandleBackups: ["durable backup: a second handle restores, exactly, a backup the first one took"],
  lockNotExclusive: ["lock: a second lock() throws ELOCKED at once while the first is held"],
  lockWaits: ["lock: a second lock() throws ELOCKED at once while the first is held"],
  perHandleLock: named("cross-process lock: "),
  noLockDomain: ["lock: the store declares what lock() locks (lockDomain), the same from a second handle"],
  ownLockDomain: ["lock: the store declares what lock() locks (lockDomain), the same from a second handle"],
  lockDomainPerHandle: ["lock: the store declares what lock() locks (lockDomain), the same from a second handle"],
  releaseNoop: ["lock: release() lets the lock be taken again, and releasing twice is harmless"],
  doubleReleaseThrows: ["lock: release() lets the lock be taken again, and releasing twice is harmless"],
  staleReleaseFrees: ["lock: release() lets the lock be taken again, and releasing twice is harmless"],
  writeNeedsUnlocked: ["lock: the lock holder can still read, back up, write and restore"],
  leakInName: ["secrets: the store's name holds no secret, before or after a write"],
  leakInBackup: ["secrets: backup handles hold no secret"],
  leakInError: [
    "secrets: no error reveals a secret the store holds or was given",
    "lock: a second lock() throws ELOCKED at once while the first is held",
    ...named("bad input: write() rejects a secret with"),
  ],
};

test(
  "the correct reference store passes every case (so each failure below is the bug's doing)",
  async ({ expect }) => {
    expect(allNames.length).toBeGreaterThan(30);
    expect(await failingCases(fixtureFor(), expect)).toEqual([]);
  },
  CHILD_CASES_MS,
);

describe("a store with a bug fails the cases that check for it", () => {
  for (const [bug, names] of Object.entries(mustFail) as [Bug, string[]][]) {
    test(
      bug,
      async ({ expect }) => {
        expect(names.length).toBeGreaterThan(0);
        const failed = await failingCases(fixtureFor(bug), expect, names);
        expect(
          names.filter((name) => !failed.includes(name)),
          "cases that should have failed but passed",
        ).toEqual([]);
      },
      CHILD_CASES_MS,
    );
  }
});

test("every case is failed by at least one broken store: no case passes whatever the store does", ({ expect }) => {
  const caught = new Set(Object.values(mustFail).flat());
  expect(allNames.filter((name) => !caught.has(name))).toEqual([]);
});

test("a case's run rejects with the assertion that failed, and still cleans up its fixture", async ({ expect }) => {
  let cleanups = 0;
  const broken = fixtureFor("restoreNoop");
  const [restoreCase] = credentialStoreTestCases(async (request) => ({ ...(await broken(request)), cleanup: () => void cleanups++ }), {
    ...options,
    skip: ["capabilities", "read", "write", "idempotent write", "atomic write", "durable backup", "lock", "cross-process lock", "bad input", "secrets"],
  });
  await expect(restoreCase?.run({ expect })).rejects.toThrow();
  expect(cleanups).toBe(1);
});

test("groups the options switch off, or whose capability the store lacks, are left out", ({ expect }) => {
  const cases = credentialStoreTestCases(fixtureFor(), {
    capabilities: { crossProcessLock: false, durableBackup: false },
    skip: ["atomic write"],
  });
  const groups = new Set(cases.map((c) => c.group));
  expect(groups.has("cross-process lock")).toBe(false);
  expect(groups.has("durable backup")).toBe(false);
  expect(groups.has("atomic write")).toBe(false);
  expect(groups.has("lock")).toBe(true);
  expect(cases.every((c) => c.name.startsWith(`${c.group}: `))).toBe(true);
});

import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type AccessKeyPair,
  type AwsPort,
  type CredentialStore,
  createAwsPort,
  createStoreError,
  fileJournal,
  type JournalEntry,
  pendingRotations,
  type RotationJournal,
} from "@keyup/core";
import { beforeEach, describe, expect, test } from "vitest";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, tempDir, workingKey } from "../../../test-support/moto.js";
import { recover, rotate } from "../../../test-support/observed.js";

/**
 * Crash-and-resume at every step, in process: the "crashed" rotation's AWS port or store stops answering
 * at a chosen call (after or before the request reaches IAM, as a killed process would), is abandoned,
 * and a second rotation over the same data and journal must finish or undo it safely.
 */

interface SharedData {
  key: AccessKeyPair | undefined;
  backups: Map<string, AccessKeyPair | undefined>;
}

/** A store over data that outlives any one store object, like a file outlives a process. */
function sharedStore(data: SharedData, hooks: { afterWrite?: () => Promise<void> } = {}): CredentialStore {
  return {
    name: "shared:test",
    capabilities: { crossProcessLock: false, durableBackup: true },
    lockDomain: { kind: "resource", id: "shared:test" },
    read: async () => data.key,
    backup: async () => {
      const id = `b${data.backups.size}`;
      data.backups.set(id, data.key);
      return { id, location: `memory backup ${id}` };
    },
    write: async (key) => {
      data.key = { ...key };
      await hooks.afterWrite?.();
    },
    restore: async (backup) => {
      if (!data.backups.has(backup.id)) throw createStoreError("EBACKUP", `no backup ${backup.id}`);
      data.key = data.backups.get(backup.id);
    },
    lock: async () => ({ release: async () => undefined }),
  };
}

function memoryJournal(): RotationJournal & { entry: JournalEntry | undefined; saves: number } {
  const j = {
    location: "memory journal",
    entry: undefined as JournalEntry | undefined,
    saves: 0,
    load: async () => (j.entry ? (JSON.parse(JSON.stringify(j.entry)) as JournalEntry) : undefined),
    save: async (e: JournalEntry) => {
      j.saves += 1;
      j.entry = JSON.parse(JSON.stringify(e));
    },
    clear: async () => {
      j.entry = undefined;
    },
  };
  return j;
}

const never = () => new Promise<never>(() => undefined);

/** An AWS port that dies at the `n`th call of `method`: before the request is sent, or after it landed. */
function dyingPort(method: keyof AwsPort, n: number, when: "before" | "after"): { port: AwsPort; died: Promise<void> } {
  const real = createAwsPort({ endpoint: motoUrl(), region: "us-east-1" });
  let count = 0;
  let signal: () => void = () => undefined;
  const died = new Promise<void>((resolve) => {
    signal = resolve;
  });
  const port = { ...real } as Record<keyof AwsPort, (...a: unknown[]) => Promise<unknown>>;
  port[method] = async (...args: unknown[]) => {
    count += 1;
    if (count !== n) return (real[method] as (...a: unknown[]) => Promise<unknown>)(...args);
    if (when === "after") await (real[method] as (...a: unknown[]) => Promise<unknown>)(...args);
    signal();
    return never();
  };
  return { port: port as unknown as AwsPort, died };
}

let admin: TestKey;
beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});

async function assertRecovered(data: SharedData, journal: ReturnType<typeof memoryJournal>, user: { arn: string; userName: string }) {
  const keys = await keysOf(admin, user.userName);
  expect(keys, "IAM holds exactly the store's key").toEqual([{ id: data.key?.accessKeyId, status: "Active" }]);
  expect(await workingKey(data.key as TestKey)).toBe(user.arn);
  expect(journal.entry).toBeUndefined();
}

const crashPoints: { method: keyof AwsPort; n: number }[] = [
  { method: "getCallerIdentity", n: 1 },
  { method: "listAccessKeys", n: 1 },
  { method: "createAccessKey", n: 1 },
  { method: "getCallerIdentity", n: 2 },
  { method: "getCallerIdentity", n: 3 },
  { method: "updateAccessKey", n: 1 },
  { method: "deleteAccessKey", n: 1 },
];

describe("a rotation that dies at any AWS call is finished or undone by the next rotate()", () => {
  for (const { method, n } of crashPoints) {
    for (const when of ["before", "after"] as const) {
      test(`dies ${when} ${method} #${n} lands`, async () => {
        const user = await createUser("phoenix");
        const data: SharedData = { key: user.keys[0], backups: new Map() };
        const journal = memoryJournal();
        await enforceAuth();

        const dying = dyingPort(method, n, when);
        void rotate({ store: sharedStore(data), journal, aws: dying.port });
        await dying.died;

        const second = await rotate({ store: sharedStore(data), journal, endpoint: motoUrl() });

        expect(second.isOk(), second.isErr() ? second.error.message : "").toBe(true);
        await assertRecovered(data, journal, user);
      });
    }
  }

  test("dies right after the store was written: the next run verifies and finishes", async () => {
    const user = await createUser("phoenix");
    const old = user.keys[0] as TestKey;
    const data: SharedData = { key: old, backups: new Map() };
    const journal = memoryJournal();
    await enforceAuth();
    let died: () => void = () => undefined;
    const dead = new Promise<void>((r) => {
      died = r;
    });

    void rotate({
      store: sharedStore(data, {
        afterWrite: async () => {
          died();
          return never();
        },
      }),
      journal,
      endpoint: motoUrl(),
    });
    await dead;
    expect(journal.entry?.state.phase).toBe("installing");
    expect(journal.entry?.secrets.new?.accessKeyId).toBe(data.key?.accessKeyId);

    const pending = await pendingRotations({ store: sharedStore(data), journal });
    expect(pending._unsafeUnwrap()).toMatchObject([{ phase: "installing", holdsNewSecret: true, oldAccessKeyId: old.accessKeyId }]);
    expect(JSON.stringify(pending._unsafeUnwrap())).not.toContain(old.secretAccessKey);

    const recovered = await recover({ store: sharedStore(data), journal, endpoint: motoUrl() });
    expect(recovered._unsafeUnwrap()?.outcome).toBe("rotated");
    await assertRecovered(data, journal, user);
    expect((await recover({ store: sharedStore(data), journal, endpoint: motoUrl() }))._unsafeUnwrap()).toBeNull();
  });

  test("the journal holds the new secret before any step after CreateAccessKey", async () => {
    const user = await createUser("scribe");
    const data: SharedData = { key: user.keys[0], backups: new Map() };
    const journal = memoryJournal();
    await enforceAuth();
    const seen: string[] = [];
    const real = createAwsPort({ endpoint: motoUrl() });
    const port: AwsPort = {
      ...real,
      getCallerIdentity: async (c) => {
        seen.push(`${journal.entry?.state.phase}:${journal.entry?.secrets.new ? "new-secret" : "no-secret"}`);
        return real.getCallerIdentity(c);
      },
    };
    const result = await rotate({ store: sharedStore(data), journal, aws: port, userName: "scribe" });
    expect(result.isOk()).toBe(true);
    expect(seen).toEqual(["verifying:new-secret", "verifying:new-secret"]);
  });
});

describe("journal problems are clear errors and never discard a secret", () => {
  test("a damaged journal file is refused and left in place", async () => {
    const user = await createUser("carer");
    await enforceAuth();
    const dir = await tempDir();
    const path = join(dir, "journal.json");
    await writeFile(path, "{ not json", { mode: 0o600 });
    const store = sharedStore({ key: user.keys[0], backups: new Map() });

    const result = await rotate({ store, journal: fileJournal(path), endpoint: motoUrl() });

    expect(result.isErr() && result.error.kind).toBe("journal");
    expect(result.isErr() && result.error.message).toContain("damaged");
    expect(await readFile(path, "utf8")).toBe("{ not json");
    expect((await keysOf(admin, "carer")).length).toBe(1);
  });

  test("a journal of another store is refused", async () => {
    const user = await createUser("other");
    await enforceAuth();
    const journal = memoryJournal();
    journal.entry = {
      version: 2,
      id: "x",
      store: "ini:/elsewhere#p",
      pid: 1,
      host: "h",
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
      state: {
        phase: "verifying",
        store: "ini:/elsewhere#p",
        config: {} as never,
        retries: { create: 0, verify: 0, retire: 0, rollback: 0 },
        consecutiveSuccesses: 0,
        verifyAttempts: 0,
        oldKeyState: "active",
        steps: [],
        warnings: [],
        newAccessKeyId: "AKIAX",
        // A foreign journal is refused before its state is read: only what that check needs.
      } as never,
      secrets: {},
    };
    const foreign = structuredClone(journal.entry);
    const result = await rotate({ store: sharedStore({ key: user.keys[0], backups: new Map() }), journal, endpoint: motoUrl() });
    expect(result.isErr() && result.error.kind).toBe("journal");
    expect(result.isErr() && result.error.message).toContain("belongs to ini:/elsewhere#p");
    // Refused and kept as it was: not cleared, not rewritten for this store.
    expect(journal.entry).toEqual(foreign);
    expect(await keysOf(admin, "other"), "nothing was created").toHaveLength(1);
  });

  test("a journal whose user was deleted meanwhile is refused, and kept", async () => {
    const user = await createUser("ghost");
    const data: SharedData = { key: user.keys[0], backups: new Map() };
    const journal = memoryJournal();
    await enforceAuth();
    const dying = dyingPort("getCallerIdentity", 2, "before");
    void rotate({ store: sharedStore(data), journal, aws: dying.port });
    await dying.died;
    const { DeleteAccessKeyCommand, DeleteUserCommand, DeleteUserPolicyCommand, IAMClient } = await import("@aws-sdk/client-iam");
    const iam = new IAMClient({ region: "us-east-1", endpoint: motoUrl(), credentials: admin });
    for (const k of await keysOf(admin, "ghost")) await iam.send(new DeleteAccessKeyCommand({ UserName: "ghost", AccessKeyId: k.id }));
    await iam.send(new DeleteUserPolicyCommand({ UserName: "ghost", PolicyName: "keyup-rotation" }));
    await iam.send(new DeleteUserCommand({ UserName: "ghost" }));

    const kept = structuredClone(journal.entry);
    expect(kept?.secrets.new?.accessKeyId, "the killed rotation journaled the key it created").toMatch(/^AKIA/);
    const result = await rotate({ store: sharedStore(data), journal, endpoint: motoUrl() });

    expect(result.isErr() && result.error.kind).toBe("journal");
    // Kept exactly: it may hold the only copy of a secret, so a refusal must not touch it.
    expect(journal.entry).toEqual(kept);
  });

  test("the file journal is written 0600 and removed when the rotation ends", async () => {
    const user = await createUser("filer");
    await enforceAuth();
    const dir = await tempDir();
    const path = join(dir, "j", "journal.json");
    const modes: number[] = [];
    const inner = fileJournal(path);
    const journal: RotationJournal = {
      ...inner,
      save: async (e) => {
        await inner.save(e);
        modes.push((await stat(path)).mode & 0o777);
      },
    };
    const result = await rotate({ store: sharedStore({ key: user.keys[0], backups: new Map() }), journal, endpoint: motoUrl() });
    expect(result.isOk()).toBe(true);
    expect(modes.length).toBeGreaterThan(5);
    expect(new Set(modes)).toEqual(new Set([0o600]));
    await expect(stat(path)).rejects.toThrow();
  });
});

describe("a journal owned by another OS user", () => {
  test("is refused and left alone", async () => {
    const user = await createUser("stranger");
    await enforceAuth();
    const dir = await tempDir();
    const path = join(dir, "journal.json");
    await writeFile(path, "{}", { mode: 0o600 });
    const { chown } = await import("node:fs/promises");
    await chown(path, 65534, 65534);
    const result = await rotate({ store: sharedStore({ key: user.keys[0], backups: new Map() }), journal: fileJournal(path), endpoint: motoUrl() });
    expect(result.isErr() && result.error.kind).toBe("journal");
    expect(result.isErr() && result.error.message).toContain("belongs to another user");
    expect(await readFile(path, "utf8")).toBe("{}");
  });
});

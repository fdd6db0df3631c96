import { isAbsolute } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { AccessKeyPair, CredentialStore, StoreBackup, StoreCapabilities, StoreLockDomain } from "@keyup/core";
import { type Contender, startContender } from "./_internal/contender.js";
import { describeKey, expectStoreError, NOTHING_THROWN, observe, type Session, thrownBy, withSession } from "./_internal/harness.js";
import { fakeAccessKeyPair, secretPiece } from "./fake-access-key-pair.js";
import { findSecretLeaks } from "./find-secret-leaks.js";
import type {
  CreateCredentialStoreFixture,
  CredentialStoreFixture,
  CredentialStoreInChildProcess,
  CredentialStoreTestCase,
  CredentialStoreTestContext,
  CredentialStoreTestGroup,
  CredentialStoreTestSuiteOptions,
} from "./types.js";

const ALL_CAPABILITIES: StoreCapabilities = { crossProcessLock: true, durableBackup: true };

/** Values that are not access key pairs, each built around fresh secret-like runs the errors must not reveal. */
function badKeys(): { label: string; value: unknown; secrets: string[] }[] {
  const { accessKeyId } = fakeAccessKeyPair();
  const [a, b, c, d, e, f, g, h] = Array.from({ length: 8 }, () => secretPiece());
  return [
    { label: "an empty access key id", value: { accessKeyId: "", secretAccessKey: `${a}${b}` }, secrets: [`${a}${b}`] },
    {
      label: "an access key id with a line break",
      value: { accessKeyId: `${accessKeyId}\nX=1`, secretAccessKey: `${a}${b}` },
      secrets: [`${a}${b}`],
    },
    { label: "a secret with a line break", value: { accessKeyId, secretAccessKey: `${a}\n${b}` }, secrets: [`${a}\n${b}`] },
    { label: "a secret with a carriage return", value: { accessKeyId, secretAccessKey: `${c}\r${d}` }, secrets: [`${c}\r${d}`] },
    { label: "a secret with a double quote", value: { accessKeyId, secretAccessKey: `${e}"${f}` }, secrets: [`${e}"${f}`] },
    { label: "a secret with a single quote", value: { accessKeyId, secretAccessKey: `${g}'${h}` }, secrets: [`${g}'${h}`] },
    { label: "an empty secret", value: { accessKeyId, secretAccessKey: "" }, secrets: [] },
    { label: "a non-string access key id", value: { accessKeyId: 1234567890123456, secretAccessKey: `${c}${d}` }, secrets: [`${c}${d}`] },
    { label: "a non-string secret", value: { accessKeyId, secretAccessKey: 42 }, secrets: [] },
    { label: "a missing secret", value: { accessKeyId }, secrets: [] },
    { label: "null", value: null, secrets: [] },
    { label: "undefined", value: undefined, secrets: [] },
    { label: "a string", value: `${accessKeyId}:${e}${f}`, secrets: [`${e}${f}`] },
  ];
}

/** The store's declared lock domain if it is one of the known kinds with its field set, else `undefined`. */
function lockDomainOf(store: CredentialStore): StoreLockDomain | undefined {
  const domain = (store as { readonly lockDomain?: Partial<Record<string, unknown>> }).lockDomain;
  if (domain?.kind === "own") return { kind: "own" };
  if (domain?.kind === "file" && typeof domain.path === "string" && domain.path !== "") return { kind: "file", path: domain.path };
  if (domain?.kind === "resource" && typeof domain.id === "string") return { kind: "resource", id: domain.id };
  return undefined;
}

/** JSON round trip: what a journal hands a later process. */
const viaJson = (backup: StoreBackup): StoreBackup => JSON.parse(JSON.stringify(backup)) as StoreBackup;

/**
 * The conformance cases as data, for running them yourself (for example to prove a broken store
 * fails them). {@link credentialStoreTestSuite} registers exactly these.
 *
 * Every case creates its own fixture through `createFixture`, and cleans it up whether it passes or not.
 * Cases whose group needs a capability the options declare `false`, or whose group is in
 * `options.skip`, are left out of the list.
 *
 * @example
 * ```ts
 * import { expect, test } from "vitest";
 * import { memoryStore } from "@keyup/core";
 * import { credentialStoreTestCases } from "@keyup/store-test-suite";
 *
 * const cases = credentialStoreTestCases(({ initial }) => {
 *   const store = memoryStore({ initial });
 *   return { store, reopen: () => store };
 * }, { capabilities: { crossProcessLock: false, durableBackup: false } });
 *
 * test("every case passes", async () => {
 *   for (const c of cases) await c.run({ expect });
 * });
 * ```
 */
export function credentialStoreTestCases(
  createFixture: CreateCredentialStoreFixture,
  options: CredentialStoreTestSuiteOptions = {},
): CredentialStoreTestCase[] {
  const capabilities = options.capabilities ?? ALL_CAPABILITIES;
  const rounds = options.atomicWriteRounds ?? 20;
  const lockWithinMs = options.lockWithinMs ?? 1000;
  const skip = new Set(options.skip ?? []);
  const cases: CredentialStoreTestCase[] = [];

  const add = (group: CredentialStoreTestGroup, title: string, run: (context: CredentialStoreTestContext) => Promise<void>): void => {
    cases.push({ name: `${group}: ${title}`, group, run });
  };
  const session = (initial: AccessKeyPair | undefined, body: (session: Session) => Promise<void>) =>
    withSession(createFixture, initial ? { initial } : {}, body);

  add("capabilities", "the store declares exactly the capabilities the suite tests", async ({ expect }) => {
    await session(undefined, async ({ store, fixture }) => {
      const declared = { crossProcessLock: store.capabilities.crossProcessLock, durableBackup: store.capabilities.durableBackup };
      expect(declared, "store.capabilities (pass them as the suite's `capabilities` option)").toEqual(capabilities);
      const other = await fixture.reopen();
      expect(other.capabilities, "a second handle's capabilities").toEqual(store.capabilities);
    });
  });

  add("read", "an empty store reads undefined", async ({ expect }) => {
    await session(undefined, async ({ store }) => {
      expect(await store.read()).toBeUndefined();
    });
  });

  add("read", "a store holding a key reads that key, from this handle and a second one", async ({ expect }) => {
    const key = fakeAccessKeyPair();
    await session(key, async ({ store, fixture }) => {
      expect(await store.read()).toEqual(key);
      expect(await (await fixture.reopen()).read()).toEqual(key);
    });
  });

  add("read", "reading changes nothing", async ({ expect }) => {
    await session(fakeAccessKeyPair(), async ({ store, fixture }) => {
      const before = await observe(fixture);
      await store.read();
      await store.read();
      expect(await observe(fixture)).toEqual(before);
    });
  });

  add("write", "an empty store reads back the written key, from this handle and a second one", async ({ expect }) => {
    const key = fakeAccessKeyPair();
    await session(undefined, async ({ store, fixture }) => {
      await store.write(key);
      expect(await store.read()).toEqual(key);
      expect(await (await fixture.reopen()).read()).toEqual(key);
    });
  });

  add("write", "each write replaces the key the store held", async ({ expect }) => {
    const [first, second, third] = [fakeAccessKeyPair(), fakeAccessKeyPair(), fakeAccessKeyPair()];
    await session(first, async ({ store, fixture }) => {
      await store.write(second);
      expect(await store.read()).toEqual(second);
      await store.write(third);
      expect(await store.read()).toEqual(third);
      expect(await (await fixture.reopen()).read()).toEqual(third);
    });
  });

  add("idempotent write", "writing the key the store already holds changes nothing", async ({ expect }) => {
    const initial = fakeAccessKeyPair();
    const next = fakeAccessKeyPair();
    await session(initial, async ({ store, fixture }) => {
      const untouched = await observe(fixture);
      await store.write({ ...initial });
      expect(await observe(fixture), "after re-writing the fixture's key").toEqual(untouched);
      await store.write(next);
      const written = await observe(fixture);
      await store.write({ ...next });
      expect(await observe(fixture), "after re-writing a key this store wrote").toEqual(written);
    });
  });

  add("atomic write", "concurrent readers see the old key or the new one, never a mix", async ({ expect }) => {
    const keys = [fakeAccessKeyPair(), fakeAccessKeyPair(), fakeAccessKeyPair()];
    const [initial] = keys as [AccessKeyPair, ...AccessKeyPair[]];
    const allowed = new Set(keys.map(describeKey));
    // A mixed read is reported by id and secret index, not by printing secrets.
    const label = (seen: AccessKeyPair | undefined): string => {
      if (seen === undefined) return "no key";
      const secretOf = keys.findIndex((k) => k.secretAccessKey === seen.secretAccessKey);
      return `id ${seen.accessKeyId} with ${secretOf < 0 ? "an unknown secret" : `the secret of key #${secretOf + 1}`}`;
    };
    await session(initial, async ({ store, fixture }) => {
      const other = await fixture.reopen();
      let writing = true;
      let reads = 0;
      const bad: string[] = [];
      const reader = async (handle: typeof store): Promise<void> => {
        while (writing) {
          try {
            const seen = await handle.read();
            reads++;
            if (!allowed.has(describeKey(seen))) bad.push(label(seen));
          } catch (error) {
            bad.push(`read threw ${(error as { code?: string }).code ?? ""} ${(error as Error).message}`);
          }
          // Yield to timers and I/O, so a writer that waits between its steps gets to run (and be caught).
          await nextTurn();
        }
      };
      const writer = async (): Promise<void> => {
        try {
          for (let i = 1; i <= rounds; i++) await store.write(keys[i % keys.length] as AccessKeyPair);
        } finally {
          writing = false;
        }
      };
      await Promise.all([writer(), reader(other), reader(store), reader(other)]);
      expect(bad, "reads that were neither an old nor a new key").toEqual([]);
      expect(reads).toBeGreaterThan(0);
      expect(await other.read()).toEqual(keys[rounds % keys.length]);
    });
  });

  add("restore", "puts back exactly what a store holding a key held", async ({ expect }) => {
    await session(fakeAccessKeyPair(), async ({ store, fixture }) => {
      const before = await observe(fixture);
      const backup = await store.backup();
      await store.write(fakeAccessKeyPair());
      expect(await observe(fixture)).not.toEqual(before);
      await store.restore(backup);
      expect(await observe(fixture)).toEqual(before);
    });
  });

  add("restore", "puts back an empty store", async ({ expect }) => {
    await session(undefined, async ({ store, fixture }) => {
      const before = await observe(fixture);
      const backup = await store.backup();
      await store.write(fakeAccessKeyPair());
      await store.restore(backup);
      expect(await store.read()).toBeUndefined();
      expect(await observe(fixture)).toEqual(before);
    });
  });

  add("restore", "is idempotent, and restoring unchanged content changes nothing", async ({ expect }) => {
    await session(fakeAccessKeyPair(), async ({ store, fixture }) => {
      const before = await observe(fixture);
      const backup = await store.backup();
      await store.restore(backup);
      expect(await observe(fixture), "restore right after backup").toEqual(before);
      await store.write(fakeAccessKeyPair());
      await store.restore(backup);
      await store.restore(backup);
      expect(await observe(fixture), "restore twice").toEqual(before);
      await store.write(fakeAccessKeyPair());
      await store.restore(backup);
      expect(await observe(fixture), "restore again after another write").toEqual(before);
    });
  });

  add("restore", "a backup handle survives a JSON round trip and restores from the copy", async ({ expect }) => {
    await session(fakeAccessKeyPair(), async ({ store, fixture }) => {
      const before = await observe(fixture);
      const backup = await store.backup();
      expect(typeof backup.id).toBe("string");
      expect(viaJson(backup)).toEqual(backup);
      await store.write(fakeAccessKeyPair());
      await store.restore(viaJson(backup));
      expect(await observe(fixture)).toEqual(before);
    });
  });

  // A store without discard() has nothing to test here: the case is not registered, the suite lists
  // it as not applicable (credentialStoreNotApplicable), and a case checks the store really has none,
  // so a store can neither skip a discard() it has nor pass one it lacks.
  if (options.discard === false) {
    add("restore", "the store has no discard(), as declared (discard cases are not applicable)", async ({ expect }) => {
      await session(fakeAccessKeyPair(), async ({ store }) => {
        expect(store.discard, "declared without discard(), but the store has one: test it (drop `discard: false`)").toBeUndefined();
      });
    });
  } else {
    add("restore", "discard() leaves what the store holds as it was, and a second discard is harmless", async ({ expect }) => {
      const [initial, next] = [fakeAccessKeyPair(), fakeAccessKeyPair()];
      await session(initial, async ({ store, fixture }) => {
        expect(typeof store.discard, "the store has no discard(): declare it with `discard: false`").toBe("function");
        if (!store.discard) return; // unreachable after the assertion above; narrows the type
        const backup = await store.backup();
        await store.write(next);
        const written = await observe(fixture);
        await store.discard(backup);
        await store.discard(backup);
        expect(await observe(fixture), "discard() must not touch the store's content").toEqual(written);
        expect(await store.read()).toEqual(next);
        expect(await (await fixture.reopen()).read()).toEqual(next);
      });
    });
  }

  add("restore", "a backup handle the store never made is rejected with EBACKUP and changes nothing", async ({ expect }) => {
    const key = fakeAccessKeyPair();
    await session(key, async ({ store, fixture }) => {
      const real = await store.backup();
      await store.write(fakeAccessKeyPair());
      const before = await observe(fixture);
      const forged: StoreBackup = { ...real, id: `sha256:${"0".repeat(64)}` };
      const error = await thrownBy(() => store.restore(forged));
      expectStoreError(expect, error, "EBACKUP", [key.secretAccessKey], "restore(unknown backup)");
      expect(await observe(fixture)).toEqual(before);
    });
  });

  if (capabilities.durableBackup) {
    add("durable backup", "a second handle restores, exactly, a backup the first one took", async ({ expect }) => {
      await session(fakeAccessKeyPair(), async ({ store, fixture }) => {
        const before = await observe(fixture);
        const backup = viaJson(await store.backup());
        await store.write(fakeAccessKeyPair());
        const other = await fixture.reopen();
        await other.write(fakeAccessKeyPair());
        await other.restore(backup);
        expect(await observe(fixture)).toEqual(before);
        expect(await observe(fixture, other)).toEqual(before);
      });
    });
  }

  add("lock", "a second lock() throws ELOCKED at once while the first is held", async ({ expect }) => {
    const key = fakeAccessKeyPair();
    await session(key, async ({ store, lock }) => {
      await lock(store);
      const started = Date.now();
      const error = await thrownBy(() => lock(store));
      const elapsed = Date.now() - started;
      expectStoreError(expect, error, "ELOCKED", [key.secretAccessKey], "lock() while locked");
      expect(elapsed, `lock() must fail within ${lockWithinMs} ms, not wait`).toBeLessThan(lockWithinMs);
    });
  });

  add("lock", "release() lets the lock be taken again, and releasing twice is harmless", async ({ expect }) => {
    await session(fakeAccessKeyPair(), async ({ store, lock }) => {
      const first = await lock(store);
      await first.release();
      expect(await thrownBy(() => first.release()), "a second release()").toBe(NOTHING_THROWN);
      const second = await lock(store);
      // The first handle's late release must not free a lock someone else now holds.
      await first.release();
      const error = await thrownBy(() => lock(store));
      expectStoreError(expect, error, "ELOCKED", [], "lock() after a stale release()");
      await second.release();
      await (await lock(store)).release();
    });
  });

  add("lock", "the store declares what lock() locks (lockDomain), the same from a second handle", async ({ expect }) => {
    const key = fakeAccessKeyPair();
    await session(key, async ({ store, fixture, lock }) => {
      // A fleet groups stores by this declaration and takes each domain's lock once: a store that
      // declares nothing is refused, and one that declares too little races its neighbours.
      const domain = lockDomainOf(store);
      expect(domain, "store.lockDomain: { kind: 'file', path } | { kind: 'resource', id } | { kind: 'own' }").toBeDefined();
      if (domain?.kind === "file") expect(isAbsolute(domain.path), `lockDomain.path must be absolute, got ${domain.path}`).toBe(true);
      if (domain?.kind === "resource") expect(domain.id, "lockDomain.id").not.toBe("");
      expect(findSecretLeaks(domain, [key.secretAccessKey]), "lockDomain holds no secret").toEqual([]);
      const other = await fixture.reopen();
      if (other === store) return;
      if (domain?.kind !== "own") {
        expect(lockDomainOf(other), "a second handle over the same key declares the same lockDomain").toEqual(domain);
        return;
      }
      // "own" promises that no other store shares the lock: two handles whose locks exclude each other do.
      const held = await lock(store);
      const error = await thrownBy(() => lock(other));
      await held.release();
      expect(error === NOTHING_THROWN, "two handles share one lock, so lockDomain cannot be { kind: 'own' }").toBe(true);
    });
  });

  add("lock", "the lock holder can still read, back up, write and restore", async ({ expect }) => {
    const [initial, next] = [fakeAccessKeyPair(), fakeAccessKeyPair()];
    await session(initial, async ({ store, fixture, lock }) => {
      const before = await observe(fixture);
      const held = await lock(store);
      expect(await store.read()).toEqual(initial);
      const backup = await store.backup();
      await store.write(next);
      expect(await store.read()).toEqual(next);
      await store.restore(backup);
      expect(await observe(fixture)).toEqual(before);
      await held.release();
    });
  });

  if (capabilities.crossProcessLock) {
    // The contender runs in a child process (fixture.inChildProcess), as a second rotation would: a
    // lock held only inside this process (a module-level map, an in-memory mutex) must fail here.
    const contend = async (fixture: CredentialStoreFixture, expect: CredentialStoreTestContext["expect"]): Promise<Contender> => {
      const spec = fixture.inChildProcess;
      expect(spec, "a store that declares crossProcessLock needs fixture.inChildProcess, so a child process can contend for its lock").toBeDefined();
      return startContender(spec as CredentialStoreInChildProcess);
    };

    add("cross-process lock", "lock() in another process throws ELOCKED at once while this one holds it", async ({ expect }) => {
      const key = fakeAccessKeyPair();
      await session(key, async ({ fixture, store, lock, stopLater }) => {
        await lock(store);
        const contender = stopLater(await contend(fixture, expect));
        const { outcome } = contender;
        expect(outcome.event, "the other process's lock() while this one holds it").toBe("refused");
        if (outcome.event !== "refused") return;
        expect(outcome.isError, "the other process's lock() must throw an Error").toBe(true);
        expect(outcome.code, "the other process's lock() must throw a store error with code ELOCKED").toBe("ELOCKED");
        expect(typeof outcome.message === "string" && outcome.message.length > 0, "the other process's error needs a message").toBe(true);
        expect(findSecretLeaks(outcome.fields, [key.secretAccessKey]), "the other process's error must not reveal a secret").toEqual([]);
        expect(outcome.ms, `lock() must fail within ${lockWithinMs} ms, not wait`).toBeLessThan(lockWithinMs);
      });
    });

    add("cross-process lock", "after release(), another process takes the lock and excludes this one until it releases", async ({ expect }) => {
      await session(fakeAccessKeyPair(), async ({ fixture, store, lock, stopLater }) => {
        const first = await lock(store);
        await first.release();
        const contender = stopLater(await contend(fixture, expect));
        expect(contender.outcome.event, "the other process's lock() after this one released").toBe("locked");
        expectStoreError(expect, await thrownBy(() => lock(store)), "ELOCKED", [], "lock() while another process holds it");
        await contender.release();
        await (await lock(store)).release();
      });
    });
  }

  for (const bad of badKeys()) {
    add("bad input", `write() rejects ${bad.label} with EBADKEY and changes nothing`, async ({ expect }) => {
      const key = fakeAccessKeyPair();
      await session(key, async ({ store, fixture }) => {
        const before = await observe(fixture);
        const error = await thrownBy(() => store.write(bad.value as AccessKeyPair));
        expectStoreError(expect, error, "EBADKEY", [key.secretAccessKey, ...bad.secrets], `write(${bad.label})`);
        expect(await observe(fixture)).toEqual(before);
      });
    });
  }

  add("bad input", "write() to an empty store rejects a non-key and leaves the store as it was", async ({ expect }) => {
    await session(undefined, async ({ store, fixture }) => {
      const before = await observe(fixture);
      const secret = `${secretPiece()}\n${secretPiece()}`;
      const error = await thrownBy(() => store.write({ accessKeyId: fakeAccessKeyPair().accessKeyId, secretAccessKey: secret }));
      expectStoreError(expect, error, "EBADKEY", [secret], "write(secret with a line break)");
      expect(await observe(fixture)).toEqual(before);
      expect(await store.read()).toBeUndefined();
    });
  });

  add("secrets", "the store's name holds no secret, before or after a write", async ({ expect }) => {
    const [initial, next] = [fakeAccessKeyPair(), fakeAccessKeyPair()];
    await session(initial, async ({ store, fixture }) => {
      const secrets = [initial.secretAccessKey, next.secretAccessKey];
      expect(findSecretLeaks(store.name, secrets)).toEqual([]);
      await store.write(next);
      expect(findSecretLeaks(store.name, secrets)).toEqual([]);
      expect(findSecretLeaks((await fixture.reopen()).name, secrets)).toEqual([]);
    });
  });

  add("secrets", "backup handles hold no secret", async ({ expect }) => {
    const [initial, next] = [fakeAccessKeyPair(), fakeAccessKeyPair()];
    await session(initial, async ({ store }) => {
      const secrets = [initial.secretAccessKey, next.secretAccessKey];
      expect(findSecretLeaks(await store.backup(), secrets)).toEqual([]);
      await store.write(next);
      expect(findSecretLeaks(await store.backup(), secrets)).toEqual([]);
    });
  });

  add("secrets", "no error reveals a secret the store holds or was given", async ({ expect }) => {
    const key = fakeAccessKeyPair();
    await session(key, async ({ store, fixture, lock }) => {
      const errors: unknown[] = [];
      const secrets = [key.secretAccessKey];
      const collect = async (fn: () => unknown): Promise<void> => {
        const error = await thrownBy(fn);
        if (error !== NOTHING_THROWN) errors.push(error);
      };
      for (const bad of badKeys()) {
        secrets.push(...bad.secrets);
        await collect(() => store.write(bad.value as AccessKeyPair));
      }
      // A near-valid key: its secret is fine, but a stray quote in the id must not echo the secret back.
      const nearly = fakeAccessKeyPair();
      secrets.push(nearly.secretAccessKey);
      await collect(() => store.write({ accessKeyId: `${nearly.accessKeyId}"`, secretAccessKey: nearly.secretAccessKey }));
      await collect(() => store.restore({ id: `sha256:${"f".repeat(64)}` }));
      await lock(store);
      await collect(() => store.lock());
      if (capabilities.crossProcessLock) await collect(async () => (await fixture.reopen()).lock());
      expect(errors.length, "the provoked failures must throw").toBeGreaterThan(badKeys().length);
      expect(errors.flatMap((error) => findSecretLeaks(error, secrets))).toEqual([]);
    });
  });

  return cases.filter((c) => !skip.has(c.group));
}

/**
 * The cases the suite leaves out for a store, each with why: groups that need a capability the store
 * does not declare, groups in `options.skip`, and the discard case for a store declared without
 * `discard()`. {@link credentialStoreTestSuite} prints this list, so a run says what it did not test
 * instead of counting it as passed.
 *
 * @example
 * ```ts
 * credentialStoreNotApplicable({ capabilities: { crossProcessLock: false, durableBackup: true }, discard: false });
 * // [{ name: "cross-process lock", reason: "capabilities.crossProcessLock is false" }, { name: "restore: discard() …", reason: … }]
 * ```
 */
export function credentialStoreNotApplicable(options: CredentialStoreTestSuiteOptions = {}): { name: string; reason: string }[] {
  const capabilities = options.capabilities ?? ALL_CAPABILITIES;
  const out: { name: string; reason: string }[] = [];
  if (!capabilities.durableBackup) out.push({ name: "durable backup", reason: "capabilities.durableBackup is false" });
  if (!capabilities.crossProcessLock) out.push({ name: "cross-process lock", reason: "capabilities.crossProcessLock is false" });
  for (const group of options.skip ?? []) out.push({ name: group, reason: "skipped by options.skip" });
  if (options.discard === false) {
    out.push({ name: "restore: discard() leaves what the store holds as it was", reason: "the store has no discard() (options.discard is false)" });
  }
  return out;
}

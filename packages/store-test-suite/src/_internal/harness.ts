import type { AccessKeyPair, CredentialStore, StoreLock } from "@keyup/core";
import type { ExpectStatic } from "vitest";
import { findSecretLeaks } from "../find-secret-leaks.js";
import type { CreateCredentialStoreFixture, CredentialStoreFixture, CredentialStoreFixtureRequest } from "../types.js";

export const NOTHING_THROWN: unique symbol = Symbol("nothing thrown");

/** A case's fixture plus every lock it took, so a failing case still releases them before cleanup. */
export interface Session {
  readonly fixture: CredentialStoreFixture;
  readonly store: CredentialStore;
  lock(store: CredentialStore): Promise<StoreLock>;
  /** Registers a child process to stop when the case ends, passed or failed; returns it. */
  stopLater<T extends { stop(): void }>(child: T): T;
}

export async function withSession(
  create: CreateCredentialStoreFixture,
  request: CredentialStoreFixtureRequest,
  body: (session: Session) => Promise<void>,
): Promise<void> {
  const fixture = await create(request);
  const locks: StoreLock[] = [];
  const children: { stop(): void }[] = [];
  try {
    await body({
      fixture,
      store: fixture.store,
      lock: async (store) => {
        const lock = await store.lock();
        locks.push(lock);
        return lock;
      },
      stopLater: (child) => {
        children.push(child);
        return child;
      },
    });
  } finally {
    // A child still holding the lock is killed first, so the store's cleanup does not race it.
    for (const child of children) child.stop();
    for (const lock of locks) await lock.release().catch(() => undefined);
    await fixture.cleanup?.();
  }
}

/** Runs `fn` (which may throw synchronously or reject) and returns what it threw. */
export async function thrownBy(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  return NOTHING_THROWN;
}

export function describeKey(key: AccessKeyPair | undefined): string {
  return key === undefined ? "(no key)" : `${key.accessKeyId}:${key.secretAccessKey}`;
}

/**
 * What the store holds, seen two ways: the raw bytes (latin1, so equal strings mean equal bytes;
 * `null` when the underlying thing is absent, `undefined` without raw access) and `read()`.
 */
export interface Observed {
  readonly raw: string | null | undefined;
  readonly key: string;
}

export async function observe(fixture: CredentialStoreFixture, store: CredentialStore = fixture.store): Promise<Observed> {
  let raw: string | null | undefined;
  if (fixture.readRaw) {
    const bytes = await fixture.readRaw();
    raw = bytes === undefined ? null : Buffer.from(bytes).toString("latin1");
  }
  return { raw, key: describeKey(await store.read()) };
}

/** Asserts `error` is a store error with `code` that reveals none of `secrets`. */
export function expectStoreError(expect: ExpectStatic, error: unknown, code: string, secrets: readonly string[], what: string): void {
  expect(error === NOTHING_THROWN ? "nothing thrown" : "thrown", `${what} must throw`).toBe("thrown");
  expect(error, `${what} must throw an Error`).toBeInstanceOf(Error);
  expect((error as { code?: unknown }).code, `${what} must throw a store error with code ${code}`).toBe(code);
  expect(typeof (error as Error).message === "string" && (error as Error).message.length > 0, `${what} needs a message`).toBe(true);
  expect(findSecretLeaks(error, secrets), `${what}: the error must not reveal a secret`).toEqual([]);
}

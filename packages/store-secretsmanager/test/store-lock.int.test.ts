import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import type { StoreLock } from "@keyup/core";
import { secretsManagerStore } from "@keyup/store-secretsmanager";
import { fakeAccessKeyPair, findSecretLeaks } from "@keyup/store-test-suite";
import { beforeEach, expect, test } from "vitest";
import { motoUrl, resetEmulator } from "../../../test-support/moto.js";
import { createSecret, currentOf, rawOf, SETUP_CREDENTIALS, secretExists, smClient, uniqueSecretName } from "./support.js";

beforeEach(resetEmulator);

const storeFor = (secretId: string, lockTtlMs?: number) =>
  secretsManagerStore({ secretId, region: "us-east-1", endpoint: motoUrl(), credentials: SETUP_CREDENTIALS, ...(lockTtlMs ? { lockTtlMs } : {}) });

const lockError = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected lock() to fail");
    },
    (error: unknown) => error as Error & { code?: string; holder?: string },
  );

async function keySecret(): Promise<{ id: string; secret: string }> {
  const key = fakeAccessKeyPair();
  const id = uniqueSecretName("keyup-lock-test");
  await createSecret(id, { AccessKeyId: key.accessKeyId, SecretAccessKey: key.secretAccessKey });
  return { id, secret: key.secretAccessKey };
}

test("the lock is a companion secret naming its holder; contention is ELOCKED with that holder; release deletes it", async () => {
  const { id, secret } = await keySecret();
  const lock = await storeFor(id).lock();
  const record = JSON.parse((await rawOf(`${id}.keyup-lock`)) ?? "{}") as Record<string, unknown>;
  expect(record).toMatchObject({ keyup: "lock", holder: `pid ${process.pid} on host ${hostname()}`, secret: id });
  expect(Date.parse(String(record.expiresAt)) - Date.parse(String(record.acquiredAt))).toBe(15 * 60_000);

  const error = await lockError(storeFor(id).lock());
  expect(error.code).toBe("ELOCKED");
  expect(error.holder).toContain(`pid ${process.pid} on host ${hostname()}`);
  expect(error.message).toContain(`${id}.keyup-lock`);
  expect(findSecretLeaks(error, [secret])).toEqual([]);

  await lock.release();
  expect(await secretExists(`${id}.keyup-lock`)).toBe(false);
  await (await storeFor(id).lock()).release();
});

test("of many handles locking at once, exactly one gets the lock", async () => {
  const { id } = await keySecret();
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => storeFor(id).lock()));
  const won = results.filter((r): r is PromiseFulfilledResult<StoreLock> => r.status === "fulfilled");
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  expect(won).toHaveLength(1);
  expect(lost.map((r) => (r.reason as { code?: string }).code)).toEqual(Array(5).fill("ELOCKED"));
  await won[0]?.value.release();
});

test("a holder that died is taken over after the lock's lifetime, and its late release frees nothing", async () => {
  const { id } = await keySecret();
  const dead = await storeFor(id, 1_000).lock();
  expect((await lockError(storeFor(id, 1_000).lock())).code).toBe("ELOCKED");
  await sleep(1_100);

  const successor = await storeFor(id, 60_000).lock();
  const before = await currentOf(`${id}.keyup-lock`);
  await dead.release();
  expect(await currentOf(`${id}.keyup-lock`), "the successor's lock is untouched").toEqual(before);
  expect((await lockError(storeFor(id).lock())).code).toBe("ELOCKED");

  await successor.release();
  await (await storeFor(id).lock()).release();
});

test("a lock released near its expiry is marked released instead of deleted, and the next lock() claims it", async () => {
  const { id } = await keySecret();
  const lock = await storeFor(id, 1_000).lock();
  await sleep(600);
  await lock.release();
  const marker = JSON.parse((await rawOf(`${id}.keyup-lock`)) ?? "{}") as Record<string, unknown>;
  expect(marker).toMatchObject({ keyup: "lock", released: true });

  const next = await storeFor(id).lock();
  expect((await lockError(storeFor(id).lock())).code).toBe("ELOCKED");
  await next.release();
  expect(await secretExists(`${id}.keyup-lock`)).toBe(false);
});

test("a lock secret keyup did not write is refused with EINVALID, not overwritten", async () => {
  const { id } = await keySecret();
  await createSecret(`${id}.keyup-lock`, "someone else's");
  const error = await lockError(storeFor(id).lock());
  expect(error.code).toBe("EINVALID");
  expect(await rawOf(`${id}.keyup-lock`)).toBe("someone else's");
});

test("a store opened by ARN locks the same companion secret as one opened by name", async () => {
  const { id } = await keySecret();
  const arn = (await smClient().send(new DescribeSecretCommand({ SecretId: id }))).ARN ?? "";
  expect(arn).toMatch(/^arn:aws:secretsmanager:us-east-1:/);
  const byName = await storeFor(id).lock();
  expect((await lockError(storeFor(arn).lock())).code).toBe("ELOCKED");
  await byName.release();
});

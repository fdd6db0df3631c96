import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { awsErrorXml, startAwsProxy } from "../../test-support/aws-proxy.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, tempDir, whoAmI, workingKey } from "../../test-support/moto.js";
import { rotate } from "../../test-support/observed.js";
import { holdsSecret } from "../../test-support/secrets.js";
import { jsonFileStore } from "./json-file-store.js";

const closers: (() => Promise<void>)[] = [];
beforeEach(resetEmulator);
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/**
 * A config file as people write them: hand-indented, a number JSON.parse cannot hold exactly, an
 * integer-like member that JSON.stringify would move first, and the key three levels down.
 */
function configText(key: TestKey): string {
  return [
    "{",
    '  "service": "billing",',
    '  "limits": { "maxBytes": 12345678901234567890, "ratio": 1.50 },',
    '  "deploy": {',
    '    "region": "eu-west-1",',
    '    "aws": {',
    `      "accessKeyId": "${key.accessKeyId}",`,
    `      "secretAccessKey": "${key.secretAccessKey}",`,
    '      "note": "rotated by keyup"',
    "    },",
    '    "2024": "kept in place"',
    "  }",
    "}",
    "",
  ].join("\n");
}

async function setUp() {
  const admin = await createAdmin();
  const user = await createUser("json-config-bot");
  const old = user.keys[0] as TestKey;
  const path = join(await tempDir(), "config.json");
  holdsSecret(path); // the custom store's file: holding the key is its job
  const before = configText(old);
  await writeFile(path, before, { mode: 0o600 });
  await enforceAuth();
  return { admin, user, old, path, before, store: jsonFileStore({ path, pointer: "/deploy/aws" }) };
}

test("rotate() through jsonFileStore: the file holds a new key that works, and every other byte is unchanged", async () => {
  const { admin, user, old, path, before, store } = await setUp();

  const result = await rotate({ store, endpoint: motoUrl(), region: "us-east-1" });

  if (result.isErr()) throw new Error(`rotation failed: ${result.error.message}`);
  const report = result.value;
  expect(report.outcome).toBe("rotated");
  expect(report.store).toBe(`json:${path}#/deploy/aws`);
  const after = await readFile(path, "utf8");
  const held = (JSON.parse(after) as { deploy: { aws: TestKey } }).deploy.aws;
  expect(held.accessKeyId).toBe(report.newAccessKeyId);
  expect(held.accessKeyId).not.toBe(old.accessKeyId);
  expect(after).toBe(before.replace(old.accessKeyId, held.accessKeyId).replace(old.secretAccessKey, held.secretAccessKey));
  expect(await workingKey(held)).toBe(user.arn);
  expect(await whoAmI(old)).toBe("error:InvalidClientTokenId");
  expect(await keysOf(admin, "json-config-bot")).toEqual([{ id: held.accessKeyId, status: "Active" }]);
  expect((await stat(path)).mode & 0o777).toBe(0o600);
  // The backup held the old secret: it is discarded with the journal and the lock once the rotation is over.
  expect(existsSync(store.backupPath)).toBe(false);
  expect(existsSync(store.journalPath)).toBe(false);
  expect(existsSync(`${path}.lock`)).toBe(false);
});

test("a rotation whose new key is never accepted puts the file back byte for byte and deletes the new key", async () => {
  const { admin, user, old, path, before, store } = await setUp();
  // STS rejects every key but the old one, as AWS does while a new key has not propagated.
  const proxy = await startAwsProxy(motoUrl(), (req) =>
    req.action === "GetCallerIdentity" && req.accessKeyId !== old.accessKeyId
      ? { status: 403, body: awsErrorXml("InvalidClientTokenId", "The security token included in the request is invalid.") }
      : undefined,
  );
  closers.push(proxy.close);

  const result = await rotate({ store, endpoint: proxy.url, region: "us-east-1", verifyTimeoutMs: 1_000 });

  expect(result.isErr() && result.error.kind).toBe("verify");
  expect(result.isErr() && result.error.report?.outcome).toBe("rolled-back");
  expect(proxy.counts().CreateAccessKey).toBe(1);
  const steps = (result.isErr() ? (result.error.report?.steps ?? []) : []).map((s) => `${s.step} ${s.status}`);
  expect(steps).toEqual(expect.arrayContaining(["install ok", "restore-store ok", "delete-new-key ok"]));
  expect(await readFile(path, "utf8")).toBe(before);
  expect(await keysOf(admin, "json-config-bot")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
  expect(await workingKey(old)).toBe(user.arn);
  expect(existsSync(store.journalPath)).toBe(false);
});

import { join } from "node:path";
import { fileJournal, rotate } from "@keyup/core";
import { githubActionsStore } from "@keyup/store-github-actions";
import { findSecretLeaks } from "@keyup/store-test-suite";
import { afterAll, beforeAll, beforeEach, expect, onTestFinished, test } from "vitest";
import { awsErrorXml, startAwsProxy } from "../../../test-support/aws-proxy.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, tempDir, whoAmI, workingKey } from "../../../test-support/moto.js";
import { type GithubServer, startGithubServer } from "./_support/github-server.js";

let github: GithubServer;
let repos = 0;
beforeAll(async () => {
  github = await startGithubServer({ scopes: [] });
});
afterAll(async () => {
  expect(github.violations).toEqual([]);
  await github.close();
});
beforeEach(resetEmulator);

/** A user whose only key is kept in a repository's Actions secrets; the job's environment holds it; auth on. */
async function setUp() {
  const admin = await createAdmin();
  const user = await createUser("ci-bot");
  const [oldKey] = user.keys;
  if (!oldKey) throw new Error("setup made no key");
  const repo = `deploy-${++repos}`;
  const scope = `/repos/acme/${repo}`;
  github.addScope(scope);
  github.seed(scope, "AWS_ACCESS_KEY_ID", oldKey.accessKeyId);
  github.seed(scope, "AWS_SECRET_ACCESS_KEY", oldKey.secretAccessKey);
  await enforceAuth();
  const dir = await tempDir();
  // What the workflow's step sees: its environment, filled from the secrets when the job started.
  const env = { AWS_ACCESS_KEY_ID: oldKey.accessKeyId, AWS_SECRET_ACCESS_KEY: oldKey.secretAccessKey };
  const store = githubActionsStore({
    owner: "acme",
    repo,
    token: github.token,
    baseUrl: github.url,
    backupPath: join(dir, "backup.json"),
    current: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
  const held = () => ({ accessKeyId: github.secret(scope, "AWS_ACCESS_KEY_ID") ?? "", secretAccessKey: github.secret(scope, "AWS_SECRET_ACCESS_KEY") ?? "" });
  return { admin, user, oldKey, store, scope, held, journal: fileJournal(join(dir, "journal.json")) };
}

test("rotate() through the store: the secrets hold a new key that works, the old key is gone, the lock variable is released", async () => {
  const { admin, user, oldKey, store, scope, held, journal } = await setUp();
  const events: unknown[] = [];

  const result = await rotate({ store, journal, region: "us-east-1", endpoint: motoUrl(), onEvent: (e) => events.push(e) });
  if (result.isErr()) throw new Error(result.error.message);
  const report = result.value;
  expect(report.oldAccessKeyId).toBe(oldKey.accessKeyId);

  const now = held();
  expect(now.accessKeyId).toBe(report.newAccessKeyId);
  expect(await workingKey(now)).toBe(user.arn);
  expect(await keysOf(admin, "ci-bot")).toEqual([{ id: now.accessKeyId, status: "Active" }]);
  expect(await whoAmI(oldKey)).toMatch(/^error:/);
  expect(github.variables.get(scope)?.size).toBe(0);
  expect(findSecretLeaks([report, events], [oldKey.secretAccessKey, now.secretAccessKey, github.token])).toEqual([]);
});

test("a rotation whose new key is never accepted writes the old key back into the secrets and deletes the new key", async () => {
  const { admin, oldKey, store, held, journal } = await setUp();
  // STS rejects every key but the old one, as AWS does while a new key has not propagated.
  const proxy = await startAwsProxy(motoUrl(), (req) =>
    req.action === "GetCallerIdentity" && req.accessKeyId !== oldKey.accessKeyId
      ? { status: 403, body: awsErrorXml("InvalidClientTokenId", "The security token included in the request is invalid.") }
      : undefined,
  );
  onTestFinished(() => proxy.close());
  const puts = github.requests.length;

  const result = await rotate({ store, journal, region: "us-east-1", endpoint: proxy.url, verifyTimeoutMs: 1_000 });
  expect(result.isErr() && result.error.kind).toBe("verify");
  expect(held()).toEqual(oldKey);
  // The new key was installed, then the old one written back: four sealed writes.
  expect(github.requests.slice(puts).filter((r) => r.method === "PUT")).toHaveLength(4);
  expect(await keysOf(admin, "ci-bot")).toEqual([{ id: oldKey.accessKeyId, status: "Active" }]);
  expect(await workingKey(oldKey)).toMatch(/:user\/ci-bot$/);
});

test("a second rotation while the first holds the lock variable is refused with a lock error, and nothing is created", async () => {
  const { admin, oldKey, store } = await setUp();
  const held = await store.lock();
  onTestFinished(() => held.release());
  const result = await rotate({ store, journal: false, region: "us-east-1", endpoint: motoUrl() });
  expect(result.isErr() && result.error.kind).toBe("lock");
  expect(await keysOf(admin, "ci-bot")).toEqual([{ id: oldKey.accessKeyId, status: "Active" }]);
});

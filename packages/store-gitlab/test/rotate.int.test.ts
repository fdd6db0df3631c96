import { join } from "node:path";
import { fileJournal, rotate } from "@keyup/core";
import { gitlabStore } from "@keyup/store-gitlab";
import { findSecretLeaks } from "@keyup/store-test-suite";
import { afterAll, beforeAll, beforeEach, expect, onTestFinished, test } from "vitest";
import { awsErrorXml, startAwsProxy } from "../../../test-support/aws-proxy.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, tempDir, whoAmI, workingKey } from "../../../test-support/moto.js";
import { type GitlabServer, startGitlabServer } from "./_support/gitlab-server.js";

let gitlab: GitlabServer;
let projects = 0;
beforeAll(async () => {
  gitlab = await startGitlabServer();
});
afterAll(async () => {
  expect(gitlab.violations).toEqual([]);
  await gitlab.close();
});
beforeEach(resetEmulator);

/** A user whose only key is kept in a project's CI/CD variables (the secret masked and protected); auth on. */
async function setUp() {
  const admin = await createAdmin();
  const user = await createUser("ci-bot");
  const [oldKey] = user.keys;
  if (!oldKey) throw new Error("setup made no key");
  const project = `acme/deploy-${++projects}`;
  const scope = `projects/${encodeURIComponent(project)}`;
  gitlab.addScope(scope);
  gitlab.seed(scope, { key: "AWS_ACCESS_KEY_ID", value: oldKey.accessKeyId, protected: true });
  gitlab.seed(scope, { key: "AWS_SECRET_ACCESS_KEY", value: oldKey.secretAccessKey, protected: true, masked: true });
  await enforceAuth();
  const dir = await tempDir();
  const store = gitlabStore({
    project,
    token: gitlab.token,
    baseUrl: gitlab.url,
    backupPath: join(dir, "backup.json"),
    // What the job's environment holds; read() prefers what the API says.
    current: { accessKeyId: oldKey.accessKeyId, secretAccessKey: oldKey.secretAccessKey },
  });
  const held = () => ({
    accessKeyId: gitlab.variable(scope, "AWS_ACCESS_KEY_ID")?.value ?? "",
    secretAccessKey: gitlab.variable(scope, "AWS_SECRET_ACCESS_KEY")?.value ?? "",
  });
  return { admin, user, oldKey, store, scope, held, journal: fileJournal(join(dir, "journal.json")) };
}

test("rotate() through the store: the variables hold a new key that works, flags kept, the old key is gone, the lock variable is released", async () => {
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
  expect(gitlab.variable(scope, "AWS_SECRET_ACCESS_KEY")).toMatchObject({ masked: true, protected: true });
  expect(gitlab.variable(scope, "KEYUP_LOCK_AWS_ACCESS_KEY_ID")).toBeUndefined();
  expect(findSecretLeaks([report, events], [oldKey.secretAccessKey, now.secretAccessKey, gitlab.token])).toEqual([]);
});

test("a rotation whose new key is never accepted writes the old key back into the variables and deletes the new key", async () => {
  const { admin, oldKey, store, held, journal } = await setUp();
  // STS rejects every key but the old one, as AWS does while a new key has not propagated.
  const proxy = await startAwsProxy(motoUrl(), (req) =>
    req.action === "GetCallerIdentity" && req.accessKeyId !== oldKey.accessKeyId
      ? { status: 403, body: awsErrorXml("InvalidClientTokenId", "The security token included in the request is invalid.") }
      : undefined,
  );
  onTestFinished(() => proxy.close());
  const from = gitlab.requests.length;

  const result = await rotate({ store, journal, region: "us-east-1", endpoint: proxy.url, verifyTimeoutMs: 1_000 });
  expect(result.isErr() && result.error.kind).toBe("verify");
  expect(held()).toEqual(oldKey);
  // The new key was installed, then the old one written back: four updates.
  expect(gitlab.requests.slice(from).filter((r) => r.method === "PUT")).toHaveLength(4);
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

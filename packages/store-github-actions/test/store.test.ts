import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { githubActionsStore } from "@keyup/store-github-actions";
import { fakeAccessKeyPair, findSecretLeaks } from "@keyup/store-test-suite";
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import { type GithubServer, startGithubServer } from "./_support/github-server.js";

let server: GithubServer;
let n = 0;
beforeAll(async () => {
  server = await startGithubServer({ scopes: [] });
});
afterAll(async () => {
  await server.close();
});

async function setUp(scope: { owner?: string; repo?: string; environment?: string; org?: string }, path: string) {
  server.addScope(path);
  const dir = await mkdtemp(join(tmpdir(), "keyup-gha-store-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const violations = server.violations.length;
  onTestFinished(() => expect(server.violations.slice(violations), "requests that break GitHub's OpenAPI description").toEqual([]));
  const open = (current: { accessKeyId?: string; secretAccessKey?: string } | undefined, extra = {}) =>
    githubActionsStore({ ...scope, token: server.token, baseUrl: server.url, backupPath: join(dir, "backup.json"), current, ...extra });
  return { open, dir };
}

describe("writing", () => {
  test("each value arrives as a sealed box GitHub can open, through the documented repository endpoints", async () => {
    const repo = `write-${++n}`;
    const { open } = await setUp({ owner: "acme", repo }, `/repos/acme/${repo}`);
    const [old, next] = [fakeAccessKeyPair(), fakeAccessKeyPair()];
    const from = server.requests.length;
    await open(old).write(next);
    expect(server.secret(`/repos/acme/${repo}`, "AWS_ACCESS_KEY_ID")).toBe(next.accessKeyId);
    expect(server.secret(`/repos/acme/${repo}`, "AWS_SECRET_ACCESS_KEY")).toBe(next.secretAccessKey);
    const puts = server.requests.slice(from).filter((r) => r.method === "PUT");
    expect(puts.map((r) => r.operationId)).toEqual(["actions/create-or-update-repo-secret", "actions/create-or-update-repo-secret"]);
    // What travels is sealed: neither value appears in any request body.
    expect(findSecretLeaks(server.requests.slice(from), [next.secretAccessKey])).toEqual([]);
    for (const r of puts) expect(JSON.stringify(r.body)).not.toContain(next.accessKeyId);
  });

  test("environment secrets go to the environment's endpoints, under the names given", async () => {
    const repo = `env-${++n}`;
    const path = `/repos/acme/${repo}/environments/prod%20eu`;
    const { open } = await setUp({ owner: "acme", repo, environment: "prod eu" }, path);
    const key = fakeAccessKeyPair();
    const store = open(undefined, { names: { accessKeyId: "DEPLOY_KEY_ID", secretAccessKey: "DEPLOY_SECRET" } });
    expect(store.name).toBe(`github-actions:acme/${repo}/environments/prod eu#DEPLOY_KEY_ID,DEPLOY_SECRET`);
    expect(await store.read()).toBeUndefined();
    await store.write(key);
    expect(server.secret(path, "DEPLOY_KEY_ID")).toBe(key.accessKeyId);
    expect(server.secret(path, "DEPLOY_SECRET")).toBe(key.secretAccessKey);
    expect(server.requests.at(-3)?.operationId).toBe("actions/create-or-update-environment-secret");
  });

  test("an organisation secret keeps its visibility and selected repositories; a new one is visible to no repository", async () => {
    const org = `org${++n}`;
    const path = `/orgs/${org}`;
    const { open } = await setUp({ org }, path);
    const old = fakeAccessKeyPair();
    server.seed(path, "AWS_ACCESS_KEY_ID", old.accessKeyId, { visibility: "private" });
    const next = fakeAccessKeyPair();
    await open(old).write(next);
    expect(server.secrets.get(path)?.get("AWS_ACCESS_KEY_ID")).toMatchObject({ value: next.accessKeyId, visibility: "private" });
    expect(server.secrets.get(path)?.get("AWS_SECRET_ACCESS_KEY")).toMatchObject({
      value: next.secretAccessKey,
      visibility: "selected",
      selected_repository_ids: [],
    });
  });

  test("a 401 or 403 is an error naming the call and status, without the token or a secret", async () => {
    const repo = `denied-${++n}`;
    const { open } = await setUp({ owner: "acme", repo }, `/repos/acme/${repo}`);
    const key = fakeAccessKeyPair();
    server.inject({ when: (r) => r.method === "PUT", status: 403 });
    const error = await open(fakeAccessKeyPair())
      .write(key)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "EIO", message: expect.stringMatching(/write secret AWS_ACCESS_KEY_ID failed with HTTP 403.*permission/) });
    expect(findSecretLeaks(error, [key.secretAccessKey, server.token])).toEqual([]);
    const wrongToken = githubActionsStore({ owner: "acme", repo, token: "ghp_wrong", baseUrl: server.url, current: undefined, backupPath: "/tmp/x" });
    await expect(wrongToken.read()).rejects.toMatchObject({ code: "EIO", message: expect.stringContaining("HTTP 401") });
  });

  test("a repository that does not exist (or the token cannot see) is ENOTFOUND", async () => {
    const { open } = await setUp({ owner: "acme", repo: "nowhere" }, "/repos/acme/somewhere-else");
    await expect(open(undefined).read()).rejects.toMatchObject({ code: "ENOTFOUND" });
  });
});

describe("reading", () => {
  test("current with one half of a key is EINVALID; secrets that exist with no current key are EINVALID, not an empty store", async () => {
    const repo = `read-${++n}`;
    const path = `/repos/acme/${repo}`;
    const { open } = await setUp({ owner: "acme", repo }, path);
    await expect(open({ accessKeyId: "AKIAIOSFODNN7EXAMPLE" }).read()).rejects.toMatchObject({ code: "EINVALID" });
    expect(await open({ accessKeyId: "", secretAccessKey: "" }).read()).toBeUndefined();
    server.seed(path, "AWS_SECRET_ACCESS_KEY", "held-but-unknown");
    await expect(open(undefined).read()).rejects.toMatchObject({ code: "EINVALID", message: expect.stringContaining("AWS_SECRET_ACCESS_KEY exists") });
  });

  test("after someone else writes the secrets, a handle no longer trusts what it wrote and reads current", async () => {
    const repo = `stale-${++n}`;
    const { open } = await setUp({ owner: "acme", repo }, `/repos/acme/${repo}`);
    const [old, mine, theirs] = [fakeAccessKeyPair(), fakeAccessKeyPair(), fakeAccessKeyPair()];
    const store = open(old);
    await store.write(mine);
    expect(await store.read()).toEqual(mine);
    await open(old).write(theirs);
    expect(await store.read()).toEqual(old);
  });
});

describe("backup", () => {
  test("the backup file is 0600 and the handle names it without a secret", async () => {
    const repo = `backup-${++n}`;
    const { open, dir } = await setUp({ owner: "acme", repo }, `/repos/acme/${repo}`);
    const key = fakeAccessKeyPair();
    const backup = await open(key).backup();
    expect(backup.location).toBe(join(dir, "backup.json"));
    expect((await stat(join(dir, "backup.json"))).mode & 0o777).toBe(0o600);
    expect(findSecretLeaks(backup, [key.secretAccessKey])).toEqual([]);
  });
});

describe("lock", () => {
  test("the lock is an Actions variable naming its holder; a second taker gets ELOCKED with the holder", async () => {
    const repo = `lock-${++n}`;
    const path = `/repos/acme/${repo}`;
    const { open } = await setUp({ owner: "acme", repo }, path);
    const lock = await open(undefined).lock();
    const value = JSON.parse(server.variables.get(path)?.get("KEYUP_LOCK_AWS_ACCESS_KEY_ID")?.value ?? "{}");
    expect(value).toMatchObject({ holder: expect.stringMatching(/^pid \d+ on host /), token: expect.any(String), expires: expect.any(String) });
    await expect(open(undefined).lock()).rejects.toMatchObject({ code: "ELOCKED", holder: value.holder });
    await lock.release();
    expect(server.variables.get(path)?.has("KEYUP_LOCK_AWS_ACCESS_KEY_ID")).toBe(false);
  });

  test("a lock past its expiry is taken over, and the dead holder's late release does not free the new one", async () => {
    const repo = `stale-lock-${++n}`;
    const path = `/repos/acme/${repo}`;
    const { open } = await setUp({ owner: "acme", repo }, path);
    const dead = await open(undefined, { lockTtlMs: 1_000 }).lock();
    await new Promise((r) => setTimeout(r, 1_100));
    const alive = await open(undefined).lock();
    await dead.release();
    await expect(open(undefined).lock()).rejects.toMatchObject({ code: "ELOCKED" });
    await alive.release();
  });

  test("a lock variable that is not keyup's is never taken over", async () => {
    const repo = `foreign-lock-${++n}`;
    const path = `/repos/acme/${repo}`;
    const { open } = await setUp({ owner: "acme", repo }, path);
    server.variables
      .get(path)
      ?.set("KEYUP_LOCK_AWS_ACCESS_KEY_ID", { value: "hand-made", created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" });
    await expect(open(undefined).lock()).rejects.toMatchObject({ code: "ELOCKED", message: expect.stringContaining("delete the variable by hand") });
  });
});

describe("options", () => {
  test.for([
    { label: "no scope", options: {} },
    { label: "org with a repo", options: { org: "acme", repo: "x" } },
    { label: "a bad owner", options: { owner: "a/b", repo: "x" } },
    { label: "an empty environment", options: { owner: "a", repo: "x", environment: "" } },
    { label: "a GITHUB_ secret name", options: { owner: "a", repo: "x", names: { accessKeyId: "GITHUB_KEY" } } },
    { label: "equal secret names", options: { owner: "a", repo: "x", names: { accessKeyId: "K", secretAccessKey: "k" } } },
    { label: "an empty token", options: { owner: "a", repo: "x", token: " " } },
    { label: "a short lock TTL", options: { owner: "a", repo: "x", lockTtlMs: 10 } },
    { label: "a relative backupPath", options: { owner: "a", repo: "x", backupPath: "backup.json" } },
  ])("$label is EINVALID at once", ({ options }) => {
    expect(() => githubActionsStore({ token: "t", current: undefined, ...options } as never)).toThrow(expect.objectContaining({ code: "EINVALID" }));
  });

  test("the name, lock variable and lock domain follow the scope; write() refuses a non-key before any call", async () => {
    const store = githubActionsStore({ org: "acme", token: "t", current: undefined, baseUrl: "http://127.0.0.1:9" });
    expect(store.name).toBe("github-actions:org/acme#AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY");
    expect(store.lockVariable).toBe("KEYUP_LOCK_AWS_ACCESS_KEY_ID");
    expect(store.lockDomain).toEqual({ kind: "resource", id: "github-actions:org/acme/variables/KEYUP_LOCK_AWS_ACCESS_KEY_ID" });
    expect(store.capabilities).toEqual({ crossProcessLock: true, durableBackup: true });
    await expect(store.write({ accessKeyId: "AKIA0000000000000000", secretAccessKey: "a b" })).rejects.toMatchObject({ code: "EBADKEY" });
  });
});

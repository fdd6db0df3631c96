import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gitlabStore } from "@keyup/store-gitlab";
import { fakeAccessKeyPair, findSecretLeaks } from "@keyup/store-test-suite";
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import { type GitlabServer, startGitlabServer } from "./_support/gitlab-server.js";

let server: GitlabServer;
let n = 0;
beforeAll(async () => {
  server = await startGitlabServer();
});
afterAll(async () => {
  await server.close();
});

const ID = "AWS_ACCESS_KEY_ID";
const SECRET = "AWS_SECRET_ACCESS_KEY";
const LOCK = "KEYUP_LOCK_AWS_ACCESS_KEY_ID";

async function setUp(kind: "project" | "group" = "project") {
  const id = kind === "project" ? `acme/app-${++n}` : `${++n}`;
  const scope = `${kind}s/${encodeURIComponent(id)}`;
  server.addScope(scope);
  const dir = await mkdtemp(join(tmpdir(), "keyup-gitlab-store-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const violations = server.violations.length;
  onTestFinished(() => expect(server.violations.slice(violations), "requests that break GitLab's documented API").toEqual([]));
  const open = (current: { accessKeyId?: string; secretAccessKey?: string } | undefined = undefined, extra = {}) =>
    gitlabStore({ [kind]: id, token: server.token, baseUrl: server.url, backupPath: join(dir, "backup.json"), current, ...extra });
  return { open, scope, dir };
}

describe("writing", () => {
  test("an update keeps each variable's masked, protected, raw, type, scope and description flags", async () => {
    const { open, scope } = await setUp();
    const old = fakeAccessKeyPair();
    server.seed(scope, { key: ID, value: old.accessKeyId, protected: true, raw: true, description: "deploy key id" });
    server.seed(scope, { key: SECRET, value: old.secretAccessKey, protected: true, masked: true, variable_type: "file" });
    const next = fakeAccessKeyPair();
    const from = server.requests.length;
    await open().write(next);
    expect(server.variable(scope, ID)).toEqual({
      key: ID,
      value: next.accessKeyId,
      variable_type: "env_var",
      protected: true,
      masked: false,
      hidden: false,
      raw: true,
      environment_scope: "*",
      description: "deploy key id",
    });
    expect(server.variable(scope, SECRET)).toMatchObject({ value: next.secretAccessKey, protected: true, masked: true, variable_type: "file", raw: false });
    expect(
      server.requests
        .slice(from)
        .filter((r) => r.method !== "GET")
        .map((r) => `${r.method} ${r.path}`),
    ).toEqual([`PUT /api/v4/${scope}/variables/${ID}`, `PUT /api/v4/${scope}/variables/${SECRET}`]);
  });

  test("missing variables are created, the secret masked; group variables use the group endpoints", async () => {
    const { open, scope } = await setUp("group");
    const store = open();
    expect(await store.read()).toBeUndefined();
    const key = fakeAccessKeyPair();
    await store.write(key);
    expect(scope).toMatch(/^groups\//);
    expect(server.variable(scope, ID)).toMatchObject({ value: key.accessKeyId, masked: false, protected: false });
    expect(server.variable(scope, SECRET)).toMatchObject({ value: key.secretAccessKey, masked: true, protected: false });
    expect(await open().read()).toEqual(key);
  });

  test("with environmentScope, only that scope's variables are read and written (filter[environment_scope])", async () => {
    const { open, scope } = await setUp();
    const [prod, staging, next] = [fakeAccessKeyPair(), fakeAccessKeyPair(), fakeAccessKeyPair()];
    for (const [env, key] of [
      ["staging", staging],
      ["production", prod],
    ] as const) {
      server.seed(scope, { key: ID, value: key.accessKeyId, environment_scope: env });
      server.seed(scope, { key: SECRET, value: key.secretAccessKey, environment_scope: env, masked: true });
    }
    const store = open(undefined, { environmentScope: "production" });
    expect(store.name).toContain("@production#");
    expect(await store.read()).toEqual(prod);
    await store.write(next);
    expect(server.variable(scope, SECRET, "production")?.value).toBe(next.secretAccessKey);
    expect(server.variable(scope, SECRET, "staging")?.value).toBe(staging.secretAccessKey);
    // Without the filter GitLab refuses to pick one of two variables: the error says so, no secret in it.
    const error = await open()
      .write(fakeAccessKeyPair())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "EIO", message: expect.stringContaining("HTTP 409") });
  });

  test("a 401 or 403 is an error naming the call and status, without the token or a secret", async () => {
    const { open, scope } = await setUp();
    const old = fakeAccessKeyPair();
    server.seed(scope, { key: ID, value: old.accessKeyId });
    server.seed(scope, { key: SECRET, value: old.secretAccessKey, masked: true });
    const key = fakeAccessKeyPair();
    server.inject({ when: (r) => r.method === "PUT", status: 403 });
    const error = await open()
      .write(key)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "EACCES", message: expect.stringMatching(/update variable AWS_ACCESS_KEY_ID failed with HTTP 403.*api scope/) });
    expect(findSecretLeaks(error, [key.secretAccessKey, old.secretAccessKey, server.token])).toEqual([]);
    const wrongToken = gitlabStore({ project: "acme/x", token: "glpat-wrong", baseUrl: server.url, current: undefined, backupPath: "/tmp/x" });
    await expect(wrongToken.read()).rejects.toMatchObject({ code: "EIO", message: expect.stringContaining("HTTP 401") });
  });

  test("an unreachable GitLab is EIO naming the call, without the token", async () => {
    const token = "glpat-unreachableTOKEN0000";
    const store = gitlabStore({ project: "acme/x", token, baseUrl: "http://127.0.0.1:9", current: undefined, backupPath: "/tmp/x" });
    const error = await store.read().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "EIO", message: expect.stringContaining("read variable AWS_ACCESS_KEY_ID failed") });
    expect(findSecretLeaks(error, [token])).toEqual([]);
  });

  test("a project that does not exist (or the token cannot see) is ENOTFOUND", async () => {
    await setUp();
    const store = gitlabStore({ project: "acme/nowhere", token: server.token, baseUrl: server.url, current: undefined, backupPath: "/tmp/x" });
    await expect(store.write(fakeAccessKeyPair())).rejects.toMatchObject({ code: "ENOTFOUND" });
  });
});

describe("reading", () => {
  test("read() prefers the API over current; current is the fallback when the token may not read", async () => {
    const { open, scope } = await setUp();
    const [held, stale] = [fakeAccessKeyPair(), fakeAccessKeyPair()];
    server.seed(scope, { key: ID, value: held.accessKeyId });
    server.seed(scope, { key: SECRET, value: held.secretAccessKey, masked: true });
    expect(await open(stale).read()).toEqual(held);
    server.inject({ when: (r) => r.method === "GET", status: 403 });
    expect(await open(stale).read()).toEqual(stale);
  });

  test("a hidden variable falls back to current; only one variable, or half a current key, is EINVALID", async () => {
    const { open, scope } = await setUp();
    const key = fakeAccessKeyPair();
    server.seed(scope, { key: ID, value: key.accessKeyId });
    await expect(open().read()).rejects.toMatchObject({ code: "EINVALID", message: expect.stringContaining("only variable AWS_ACCESS_KEY_ID") });
    server.seed(scope, { key: SECRET, value: key.secretAccessKey, masked: true, hidden: true });
    expect(await open(key).read()).toEqual(key);
    await expect(open({ accessKeyId: key.accessKeyId }).read()).rejects.toMatchObject({ code: "EINVALID" });
  });
});

describe("backup", () => {
  test("the backup file is 0600; restore puts back values and flags exactly, the handle holds no secret", async () => {
    const { open, scope, dir } = await setUp();
    const old = fakeAccessKeyPair();
    server.seed(scope, { key: ID, value: old.accessKeyId, protected: true, description: "id" });
    server.seed(scope, { key: SECRET, value: old.secretAccessKey, masked: true, protected: true, raw: true });
    const before = JSON.stringify(server.variables.get(scope));
    const store = open();
    const backup = await store.backup();
    expect(backup.location).toBe(join(dir, "backup.json"));
    expect((await stat(join(dir, "backup.json"))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(dir, "backup.json"), "utf8")).variables.secret).toMatchObject({ masked: true, protected: true, raw: true });
    expect(findSecretLeaks(backup, [old.secretAccessKey])).toEqual([]);
    // Someone changes the flags and the values; restore brings all of it back.
    await store.write(fakeAccessKeyPair());
    const secretVar = server.variable(scope, SECRET);
    if (secretVar) secretVar.protected = false;
    await store.restore(backup);
    expect(JSON.stringify(server.variables.get(scope))).toBe(before);
  });
});

describe("lock", () => {
  test("the lock is a variable created with POST naming its holder; a second taker gets ELOCKED with the holder", async () => {
    const { open, scope } = await setUp();
    const lock = await open().lock();
    const variable = server.variable(scope, LOCK);
    expect(variable).toMatchObject({ masked: false, protected: false });
    const value = JSON.parse(variable?.value ?? "{}");
    expect(value).toMatchObject({ holder: expect.stringMatching(/^pid \d+ on host /), token: expect.any(String), expires: expect.any(String) });
    await expect(open().lock()).rejects.toMatchObject({ code: "ELOCKED", holder: value.holder });
    await lock.release();
    expect(server.variable(scope, LOCK)).toBeUndefined();
  });

  test("a lock past its expiry is taken over, and the dead holder's late release does not free the new one", async () => {
    const { open, scope } = await setUp();
    const dead = await open(undefined, { lockTtlMs: 1_000 }).lock();
    await new Promise((r) => setTimeout(r, 1_100));
    const alive = await open().lock();
    await dead.release();
    expect(server.variable(scope, LOCK)).toBeDefined();
    await expect(open().lock()).rejects.toMatchObject({ code: "ELOCKED" });
    await alive.release();
    expect(server.variable(scope, LOCK)).toBeUndefined();
  });

  test("a lock variable that is not keyup's is never taken over nor deleted", async () => {
    const { open, scope } = await setUp();
    server.seed(scope, { key: LOCK, value: "hand-made" });
    await expect(open().lock()).rejects.toMatchObject({ code: "ELOCKED", message: expect.stringContaining("delete the variable by hand") });
    expect(server.variable(scope, LOCK)?.value).toBe("hand-made");
  });
});

describe("options", () => {
  test.for([
    { label: "no project or group", options: {} },
    { label: "project and group", options: { project: "a/b", group: "a" } },
    { label: "a bad project path", options: { project: "a b" } },
    { label: "a bad variable name", options: { project: "a/b", names: { accessKeyId: "KEY-ID" } } },
    { label: "equal variable names", options: { project: "a/b", names: { accessKeyId: "K", secretAccessKey: "K" } } },
    { label: "an empty token", options: { project: "a/b", token: " " } },
    { label: "a short lock TTL", options: { project: "a/b", lockTtlMs: 10 } },
    { label: "a relative backupPath", options: { project: "a/b", backupPath: "backup.json" } },
    { label: "a non-http baseUrl", options: { project: "a/b", baseUrl: "ftp://gitlab" } },
    { label: "an empty environmentScope", options: { project: "a/b", environmentScope: "" } },
  ])("$label is EINVALID at once", ({ options }) => {
    expect(() => gitlabStore({ token: "t", current: undefined, ...options } as never)).toThrow(expect.objectContaining({ code: "EINVALID" }));
  });

  test("the name, lock variable and lock domain follow the scope; write() refuses a non-key before any call", async () => {
    const store = gitlabStore({ group: 42, token: "t", current: undefined, baseUrl: "http://127.0.0.1:9" });
    expect(store.name).toBe("gitlab:127.0.0.1:9/groups/42#AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY");
    expect(gitlabStore({ project: "acme/deploy", token: "t", current: undefined }).name).toBe(
      "gitlab:gitlab.com/projects/acme/deploy#AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY",
    );
    expect(store.lockVariable).toBe(LOCK);
    expect(store.lockDomain).toEqual({ kind: "resource", id: `gitlab:127.0.0.1:9/groups/42/variables/${LOCK}` });
    expect(store.capabilities).toEqual({ crossProcessLock: true, durableBackup: true });
    await expect(store.write({ accessKeyId: "AKIA0000000000000000", secretAccessKey: "a b" })).rejects.toMatchObject({ code: "EBADKEY" });
  });
});

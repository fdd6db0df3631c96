import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { type GithubServer, startGithubServer } from "../../packages/store-github-actions/test/_support/github-server.js";
import { runExampleScript } from "../../test-support/example-script.js";
import { createAdmin, createUser, enforceAuth, keysOf, resetEmulator, type TestKey, tempDir, workingKey } from "../../test-support/moto.js";

let github: GithubServer;
beforeAll(async () => {
  github = await startGithubServer({ scopes: ["/repos/acme/deploy"] });
});
afterAll(async () => {
  expect(github.violations).toEqual([]);
  await github.close();
});
beforeEach(resetEmulator);

test("the workflow's script rotates the key it runs with and writes the new one into the repository secrets", async () => {
  const admin = await createAdmin();
  const user = await createUser("deploy-bot");
  const old = user.keys[0] as TestKey;
  github.seed("/repos/acme/deploy", "AWS_ACCESS_KEY_ID", old.accessKeyId);
  github.seed("/repos/acme/deploy", "AWS_SECRET_ACCESS_KEY", old.secretAccessKey);
  await enforceAuth();

  // What GitHub Actions gives the step: the secrets as environment variables, the repository and the API URL.
  const { code, stdout, stderr } = await runExampleScript("github-actions-rotate/rotate.ts", {
    HOME: await tempDir(),
    GITHUB_REPOSITORY: "acme/deploy",
    GITHUB_API_URL: github.url,
    GH_SECRETS_TOKEN: github.token,
    AWS_ACCESS_KEY_ID: old.accessKeyId,
    AWS_SECRET_ACCESS_KEY: old.secretAccessKey,
  });

  expect(stderr).toBe("");
  expect(code).toBe(0);
  const held = {
    accessKeyId: github.secret("/repos/acme/deploy", "AWS_ACCESS_KEY_ID") ?? "",
    secretAccessKey: github.secret("/repos/acme/deploy", "AWS_SECRET_ACCESS_KEY") ?? "",
  };
  expect(await keysOf(admin, "deploy-bot")).toEqual([{ id: held.accessKeyId, status: "Active" }]);
  expect(await workingKey(held)).toBe(user.arn);
  expect(stdout).toContain(`rotated: ${old.accessKeyId} -> ${held.accessKeyId} (github-actions:acme/deploy#AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY)`);
  expect(stdout).not.toContain(held.secretAccessKey);
});

test("a key younger than KEYUP_MIN_AGE_DAYS is left alone and the secrets are not written", async () => {
  const user = await createUser("young-bot");
  const old = user.keys[0] as TestKey;
  github.seed("/repos/acme/deploy", "AWS_ACCESS_KEY_ID", old.accessKeyId);
  github.seed("/repos/acme/deploy", "AWS_SECRET_ACCESS_KEY", old.secretAccessKey);
  await enforceAuth();
  const puts = github.requests.filter((r) => r.method === "PUT").length;

  const { code, stdout } = await runExampleScript("github-actions-rotate/rotate.ts", {
    HOME: await tempDir(),
    GITHUB_REPOSITORY: "acme/deploy",
    GITHUB_API_URL: github.url,
    GH_SECRETS_TOKEN: github.token,
    AWS_ACCESS_KEY_ID: old.accessKeyId,
    AWS_SECRET_ACCESS_KEY: old.secretAccessKey,
    KEYUP_MIN_AGE_DAYS: "30",
  });

  expect(code).toBe(0);
  expect(stdout).toContain(`skipped: ${old.accessKeyId} -> -`);
  expect(github.requests.filter((r) => r.method === "PUT").length).toBe(puts);
  expect(github.secret("/repos/acme/deploy", "AWS_ACCESS_KEY_ID")).toBe(old.accessKeyId);
});

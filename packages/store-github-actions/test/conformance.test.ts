import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { githubActionsStore } from "@keyup/store-github-actions";
import { credentialStoreTestSuite } from "@keyup/store-test-suite";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type GithubServer, startGithubServer } from "./_support/github-server.js";

let server: GithubServer;
let cases = 0;
beforeAll(async () => {
  server = await startGithubServer({ scopes: [] });
});
afterAll(async () => {
  // Every request of every case matched a documented operation with a documented body.
  expect(server.violations).toEqual([]);
  await server.close();
});

const ID = "AWS_ACCESS_KEY_ID";
const SECRET = "AWS_SECRET_ACCESS_KEY";

// Each case gets its own repository on the local GitHub. The first handle is a job that started
// with `initial` in its environment; reopen() is a job started now, whose environment GitHub fills
// with what the secrets hold at that moment (the server's plaintext), which is what `current` models.
//
// "atomic write" is not applicable: GitHub has no call that writes two secrets at once, so a job
// starting between the two PUTs gets a mismatched pair. The README says so.
credentialStoreTestSuite(
  test,
  async ({ initial }) => {
    const repo = `conformance-${++cases}`;
    const scope = `/repos/acme/${repo}`;
    server.addScope(scope);
    if (initial) {
      server.seed(scope, ID, initial.accessKeyId);
      server.seed(scope, SECRET, initial.secretAccessKey);
    }
    const dir = await mkdtemp(join(tmpdir(), "keyup-gha-conformance-"));
    const base = { owner: "acme", repo, token: server.token, baseUrl: server.url, backupPath: join(dir, "backup.json") };
    const newJob = () =>
      githubActionsStore({ ...base, current: () => ({ accessKeyId: server.secret(scope, ID), secretAccessKey: server.secret(scope, SECRET) }) });
    return {
      store: githubActionsStore({ ...base, current: initial }),
      reopen: newJob,
      readRaw: async () => {
        const [id, secret] = [server.secret(scope, ID), server.secret(scope, SECRET)];
        return id === undefined && secret === undefined ? undefined : JSON.stringify({ id, secret });
      },
      cleanup: () => rm(dir, { recursive: true, force: true }),
      // The cross-process lock cases open the same repository from the package's source in a child
      // process; locking needs no current key, so none crosses to it.
      inChildProcess: {
        module: fileURLToPath(new URL("../src/index.ts", import.meta.url)),
        exportName: "githubActionsStore",
        args: [base],
        execArgv: ["--import", "tsx"],
      },
    };
  },
  { skip: ["atomic write"] },
);

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gitlabStore } from "@keyup/store-gitlab";
import { credentialStoreTestSuite } from "@keyup/store-test-suite";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type GitlabServer, startGitlabServer } from "./_support/gitlab-server.js";

let server: GitlabServer;
let cases = 0;
beforeAll(async () => {
  server = await startGitlabServer();
});
afterAll(async () => {
  // Every request of every case used a documented endpoint with documented parameters.
  expect(server.violations).toEqual([]);
  await server.close();
});

const ID = "AWS_ACCESS_KEY_ID";
const SECRET = "AWS_SECRET_ACCESS_KEY";

// Each case gets its own project on the local GitLab, named by its full path. Variables are readable
// through the API, so `current` is not needed; the raw state is both variables with all their flags,
// so "changes nothing" and "restores exactly" cover masked/protected/scope too.
//
// "atomic write" is not applicable: GitLab has no call that writes two variables at once, so a job
// starting between the two PUTs gets a mismatched pair. The README says so.
credentialStoreTestSuite(
  test,
  async ({ initial }) => {
    const project = `acme/conformance-${++cases}`;
    const scope = `projects/${encodeURIComponent(project)}`;
    server.addScope(scope);
    if (initial) {
      server.seed(scope, { key: ID, value: initial.accessKeyId, protected: true });
      server.seed(scope, { key: SECRET, value: initial.secretAccessKey, masked: true, protected: true });
    }
    const dir = await mkdtemp(join(tmpdir(), "keyup-gitlab-conformance-"));
    const options = { project, token: server.token, baseUrl: server.url, backupPath: join(dir, "backup.json"), current: undefined };
    const open = () => gitlabStore(options);
    return {
      store: open(),
      reopen: open,
      readRaw: async () => {
        const [id, secret] = [server.variable(scope, ID), server.variable(scope, SECRET)];
        return id === undefined && secret === undefined ? undefined : JSON.stringify({ id, secret });
      },
      cleanup: () => rm(dir, { recursive: true, force: true }),
      // The cross-process lock cases open the same project from the package's source in a child process.
      inChildProcess: {
        module: fileURLToPath(new URL("../src/index.ts", import.meta.url)),
        exportName: "gitlabStore",
        args: [options],
        execArgv: ["--import", "tsx"],
      },
    };
  },
  { skip: ["atomic write"] },
);

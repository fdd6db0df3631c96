/**
 * The opt-in check against a real GitLab (never run by the test suite or CI): writes a fake key into
 * two throwaway CI/CD variables of a project you own, reads them back through the API, takes and
 * releases the lock variable, restores the empty state (deleting both variables) and exits 0.
 *
 *   GITLAB_TOKEN=… KEYUP_GITLAB_PROJECT=me/scratch pnpm --filter @keyup/store-gitlab test:gitlab
 *
 * `KEYUP_GITLAB_URL` points it at a self-managed GitLab (default https://gitlab.com). The token needs
 * the `api` scope and the Maintainer role on that project.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gitlabStore } from "@keyup/store-gitlab";

const token = process.env.GITLAB_TOKEN ?? "";
const project = process.env.KEYUP_GITLAB_PROJECT ?? "";
const baseUrl = process.env.KEYUP_GITLAB_URL ?? "https://gitlab.com";
if (token === "" || project === "") {
  console.error("set GITLAB_TOKEN and KEYUP_GITLAB_PROJECT=group/project (a project whose CI/CD variables you may write)");
  process.exit(2);
}

const names = { accessKeyId: "KEYUP_LIVE_TEST_KEY_ID", secretAccessKey: "KEYUP_LIVE_TEST_SECRET" };
const dir = await mkdtemp(join(tmpdir(), "keyup-live-gitlab-"));
const store = gitlabStore({ baseUrl, project, token, names, current: undefined, backupPath: join(dir, "backup.json") });
const fake = { accessKeyId: "AKIAKEYUPLIVETEST000", secretAccessKey: `live-test-${Date.now()}-padding-to-eight` };
const check = (ok: boolean, what: string) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) process.exitCode = 1;
};
const variable = (name: string) =>
  fetch(`${baseUrl}/api/v4/projects/${encodeURIComponent(project)}/variables/${name}`, { headers: { "private-token": token } });

const lock = await store.lock();
try {
  check(true, `took the lock variable ${store.lockVariable}`);
  check(
    (await gitlabStore({ baseUrl, project, token, names, current: undefined })
      .lock()
      .catch((e: { code?: string }) => e.code)) === "ELOCKED",
    "a second lock() is ELOCKED",
  );
  const backup = await store.backup();
  await store.write(fake);
  check((await variable(names.accessKeyId)).status === 200, "GitLab lists the written variable");
  check((await store.read())?.accessKeyId === fake.accessKeyId, "read() returns what was written");
  await store.restore(backup);
  check((await variable(names.secretAccessKey)).status === 404, "restore() of the empty backup deleted the variables");
} finally {
  await lock.release();
  console.log("released the lock");
  await rm(dir, { recursive: true, force: true });
}

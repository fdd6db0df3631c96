/**
 * The opt-in check against the real GitHub API (never run by the test suite or CI): writes a fake
 * key into two throwaway secrets of a repository you own, checks GitHub lists them, takes and releases
 * the lock variable, restores the empty state (deleting both secrets) and exits 0.
 *
 *   GITHUB_TOKEN=… KEYUP_GITHUB_REPO=me/scratch pnpm --filter @keyup/store-github-actions test:github
 *
 * The token needs "Secrets: write" and "Variables: write" on that repository.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { githubActionsStore } from "@keyup/store-github-actions";

const token = process.env.GITHUB_TOKEN ?? "";
const [owner, repo] = (process.env.KEYUP_GITHUB_REPO ?? "").split("/");
if (token === "" || !owner || !repo) {
  console.error("set GITHUB_TOKEN and KEYUP_GITHUB_REPO=owner/repo (a repository you may write secrets and variables of)");
  process.exit(2);
}

const names = { accessKeyId: "KEYUP_LIVE_TEST_KEY_ID", secretAccessKey: "KEYUP_LIVE_TEST_SECRET" };
const dir = await mkdtemp(join(tmpdir(), "keyup-live-github-"));
const store = githubActionsStore({ owner, repo, token, names, current: undefined, backupPath: join(dir, "backup.json") });
const fake = { accessKeyId: "AKIAKEYUPLIVETEST000", secretAccessKey: `live-test-${Date.now()}` };
const check = (ok: boolean, what: string) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) process.exitCode = 1;
};

const lock = await store.lock();
try {
  check(true, `took the lock variable ${store.lockVariable}`);
  check(
    (await githubActionsStore({ owner, repo, token, names, current: undefined })
      .lock()
      .catch((e: { code?: string }) => e.code)) === "ELOCKED",
    "a second lock() is ELOCKED",
  );
  const backup = await store.backup();
  await store.write(fake);
  const listed = await fetch(`https://api.github.com/repos/${owner}/${repo}/actions/secrets/${names.secretAccessKey}`, {
    headers: { authorization: `Bearer ${token}`, accept: "application/vnd.github+json" },
  });
  check(listed.status === 200, "GitHub lists the written secret");
  check((await store.read())?.accessKeyId === fake.accessKeyId, "read() returns what was written");
  await store.restore(backup);
  const gone = await fetch(`https://api.github.com/repos/${owner}/${repo}/actions/secrets/${names.secretAccessKey}`, {
    headers: { authorization: `Bearer ${token}`, accept: "application/vnd.github+json" },
  });
  check(gone.status === 404, "restore() of the empty backup deleted the secrets");
} finally {
  await lock.release();
  console.log("released the lock");
  await rm(dir, { recursive: true, force: true });
}

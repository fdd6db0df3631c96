import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type GitlabServer, startGitlabServer } from "./_support/gitlab-server.js";

/**
 * The opt-in live check (`pnpm --filter @keyup/store-gitlab test:gitlab`) is never run against
 * gitlab.com here; run against the local GitLab, it must refuse without its settings and pass every
 * check with them, leaving no variable behind, so that whoever runs it live runs a script that works.
 */
const run = promisify(execFile);
const pkg = fileURLToPath(new URL("..", import.meta.url));
const tsx = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url));
const script = ["--tsconfig", "../../tsconfig.json", "test/live-gitlab.ts"];

let server: GitlabServer;
beforeAll(async () => {
  server = await startGitlabServer();
  server.addScope("projects/me%2Fscratch");
});
afterAll(() => server.close());

test("without GITLAB_TOKEN and KEYUP_GITLAB_PROJECT it refuses with exit 2 and says what to set", async () => {
  const failed = await run(tsx, script, { cwd: pkg, env: { PATH: process.env.PATH ?? "" } }).catch((e: { code: number; stderr: string }) => e);
  expect("code" in failed ? failed.code : 0).toBe(2);
  expect("stderr" in failed ? failed.stderr : "").toMatch(/set GITLAB_TOKEN and KEYUP_GITLAB_PROJECT/);
});

test("against a GitLab that keeps the API's rules, every check passes and no variable is left", async () => {
  const { stdout } = await run(tsx, script, {
    cwd: pkg,
    env: { PATH: process.env.PATH ?? "", GITLAB_TOKEN: server.token, KEYUP_GITLAB_PROJECT: "me/scratch", KEYUP_GITLAB_URL: server.url },
  });
  const lines = stdout.trim().split("\n");
  expect(lines.filter((l) => l.startsWith("ok "))).toHaveLength(5);
  expect(lines.some((l) => l.startsWith("FAIL"))).toBe(false);
  expect(lines.at(-1)).toBe("released the lock");
  expect(server.variables.get("projects/me%2Fscratch") ?? []).toEqual([]);
  expect(server.violations).toEqual([]);
});

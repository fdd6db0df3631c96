import { chmod, chown, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../../test-support/moto.js";
import type { CliArgs } from "../src/args.js";
import { autoLog, defaultLogFile } from "../src/auto-log.js";
import { cliLogger } from "../src/logger.js";

// Issue 15, "another local user": the --auto log and the state folder ($XDG_STATE_HOME/keyup). A
// planted symlink was followed (its target appended to and chmod-ed 0600); a folder another user
// owns was written into. The suite runs as root, so `nobody` (uid 65534) plays the other user.

const NOBODY = 65534;
const now = () => new Date("2026-05-06T07:08:09.000Z");
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Error & { code?: string },
  );

/** Runs one `--auto` log line through the CLI's logger with `env`, and returns what it printed on stderr. */
async function logOnce(env: NodeJS.ProcessEnv, logFile?: string): Promise<string> {
  let stderr = "";
  const args = { auto: true, profile: "ci", ...(logFile ? { logFile } : {}) } as unknown as CliArgs;
  const logger = cliLogger(args, { stdout: () => undefined, stderr: (s) => (stderr += s), env, interactive: false }, now);
  logger.info("rotation=r-1 step=create-key status=ok");
  // The logger writes in the background; give it time to finish or to report.
  await new Promise((resolve) => setTimeout(resolve, 500));
  return stderr;
}

describe("log file and state folder: a planted symlink or another user's folder is refused", () => {
  test("a symlink planted as the default log file: refused, its target neither appended to nor chmod-ed", async () => {
    const state = await tempDir("keyup-log-");
    const victim = join(state, "victim");
    await writeFile(victim, "precious\n", { mode: 0o644 });
    await mkdir(join(state, "keyup"), { mode: 0o700 });
    await symlink(victim, join(state, "keyup", "keyup.log"));
    const stderr = await logOnce({ XDG_STATE_HOME: state });
    expect(stderr).toContain(`keyup: cannot write the log file ${join(state, "keyup", "keyup.log")}: `);
    expect(stderr).toContain("is a symlink, not a file of keyup's own; keyup refuses it");
    expect(await readFile(victim, "utf8")).toBe("precious\n");
    expect((await stat(victim)).mode & 0o777).toBe(0o644);
  });

  test("a symlink planted as $XDG_STATE_HOME/keyup: refused, nothing written where it points", async () => {
    const state = await tempDir("keyup-log-");
    const elsewhere = await tempDir("keyup-log-elsewhere-");
    await symlink(elsewhere, join(state, "keyup"));
    const stderr = await logOnce({ XDG_STATE_HOME: state });
    expect(stderr).toContain(`${join(state, "keyup")} is a symlink, not a folder of keyup's own`);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  test("$XDG_STATE_HOME/keyup owned by another user: refused (typed EUNSAFEPATH), nothing created in it", async () => {
    const state = await tempDir("keyup-log-");
    const folder = join(state, "keyup");
    await mkdir(folder, { mode: 0o700 });
    await chown(folder, NOBODY, NOBODY);
    const log = autoLog(join(folder, "keyup.log"), now, { stateFolder: folder });
    const error = await rejection(log.write("level=info profile=ci x"));
    expect(error?.code).toBe("EUNSAFEPATH");
    expect(error?.message).toBe(
      `${folder} belongs to another user (uid ${NOBODY}, not ${process.getuid?.()}); keyup refuses it, since another user could read or redirect what keyup writes there. Remove it or fix its owner`,
    );
    expect(await readdir(folder)).toEqual([]);
  });

  test("a --log-file owned by another user, or a symlink, is refused; the file is left as it was", async () => {
    const dir = await tempDir("keyup-log-");
    const theirs = join(dir, "theirs.log");
    await writeFile(theirs, "their line\n");
    await chmod(theirs, 0o666);
    await chown(theirs, NOBODY, NOBODY);
    expect(await rejection(autoLog(theirs, now).write("x"))).toMatchObject({ code: "EUNSAFEPATH" });
    const link = join(dir, "link.log");
    await symlink(join(dir, "mine.txt"), link);
    expect(await rejection(autoLog(link, now).write("x"))).toMatchObject({ code: "EUNSAFEPATH" });
    expect(await readFile(theirs, "utf8")).toBe("their line\n");
    expect((await stat(theirs)).mode & 0o777).toBe(0o666);
    expect(await readdir(dir).then((names) => names.sort())).toEqual(["link.log", "theirs.log"]);
  });

  test("legit: a fresh state folder is created 0700 with the log 0600; a --log-file in a shared sticky folder (as /tmp) is fine", async () => {
    const state = join(await tempDir("keyup-log-"), "state");
    expect(await logOnce({ XDG_STATE_HOME: state })).toBe("");
    const path = defaultLogFile({ XDG_STATE_HOME: state });
    expect(await readFile(path, "utf8")).toBe("2026-05-06T07:08:09.000Z level=info profile=ci rotation=r-1 step=create-key status=ok\n");
    expect((await lstat(path)).mode & 0o777).toBe(0o600);
    expect((await lstat(join(state, "keyup"))).mode & 0o777).toBe(0o700);

    const shared = await tempDir("keyup-log-shared-");
    await chown(shared, NOBODY, NOBODY);
    await chmod(shared, 0o1777);
    const mine = join(shared, "keyup.log");
    await writeFile(mine, "", { mode: 0o644 });
    expect(await logOnce({}, mine)).toBe("");
    expect(await readFile(mine, "utf8")).toContain("step=create-key status=ok");
    expect((await lstat(mine)).mode & 0o777, "made 0600: it names keys and users").toBe(0o600);
  });
});

import { appendFile, chmod, mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * Where `--auto` appends its log when `--log-file` is not given: `$XDG_STATE_HOME/keyup/keyup.log`,
 * else `~/.local/state/keyup/keyup.log` (the XDG Base Directory default for state).
 *
 * @example
 * ```ts
 * defaultLogFile({ XDG_STATE_HOME: "/var/lib/me" }); // "/var/lib/me/keyup/keyup.log"
 * ```
 */
export function defaultLogFile(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME?.startsWith("/") ? env.XDG_STATE_HOME : join(env.HOME ?? homedir(), ".local", "state");
  return join(base, "keyup", "keyup.log");
}

/**
 * An append-only, timestamped log for unattended runs. Lines carry key ids and outcomes, never
 * secrets. The folder is created 0700 and the file 0600: it names keys and users.
 *
 * @example
 * ```ts
 * const log = autoLog("/tmp/keyup.log", () => new Date());
 * await log.write("profile=ci step=create-key status=ok");
 * ```
 */
export function autoLog(path: string, now: () => Date) {
  let ready: Promise<void> | undefined;
  const prepare = async () => {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  };
  return {
    path,
    async write(line: string): Promise<void> {
      ready ??= prepare();
      await ready;
      await appendFile(path, `${now().toISOString()} ${line}\n`, { mode: 0o600 });
      await chmod(path, 0o600).catch(() => undefined);
    },
  };
}

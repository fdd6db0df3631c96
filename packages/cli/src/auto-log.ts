import { mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { appendOwnFile, ownFolder } from "@keyup/core/files";

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
 * secrets. The file is 0600 (it names keys and users), opened without following a symlink, and
 * refused when another user owns it. With `stateFolder` (the default log's `…/keyup`), that folder
 * is created 0700 and refused when it is a symlink, another user's or writable by others; a
 * `--log-file` elsewhere only gets a missing folder created.
 *
 * @example
 * ```ts
 * const log = autoLog("/tmp/keyup.log", () => new Date());
 * await log.write("profile=ci step=create-key status=ok");
 * ```
 */
export function autoLog(path: string, now: () => Date, options: { readonly stateFolder?: string } = {}) {
  let ready: Promise<void> | undefined;
  const prepare = async () => {
    if (options.stateFolder !== undefined) await ownFolder(options.stateFolder);
    else await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  };
  return {
    path,
    async write(line: string): Promise<void> {
      ready ??= prepare();
      await ready;
      await appendOwnFile(path, `${now().toISOString()} ${line}\n`);
    },
  };
}

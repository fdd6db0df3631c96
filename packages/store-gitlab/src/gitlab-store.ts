import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { type AccessKeyPair, type CredentialStore, createStoreError, isAccessKeyPair, type StoreBackup, type StoreLock } from "@keyup/core";
import { discardBackupFile, fingerprint, readBytes, writeAtomic } from "@keyup/core/files";
import { type GitlabVariable, gitlabApi, type VariableFlags, type VariableScope } from "./_internal/gitlab-api.js";
import { acquireVariableLock } from "./_internal/variable-lock.js";

/**
 * The CI/CD variable names the key is kept under. Both default to the names the AWS SDKs and CLI read
 * from the environment: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
 *
 * @example
 * ```ts
 * const names: GitlabVariableNames = { accessKeyId: "DEPLOY_KEY_ID", secretAccessKey: "DEPLOY_SECRET" };
 * ```
 */
export interface GitlabVariableNames {
  /** Variable holding the access key id. Default `AWS_ACCESS_KEY_ID`. */
  readonly accessKeyId?: string;
  /** Variable holding the secret access key. Default `AWS_SECRET_ACCESS_KEY`. */
  readonly secretAccessKey?: string;
}

/**
 * The key the variables hold now, as the job sees it: the fallback when the token may write the
 * variables but not read them (GitLab answers 403, or the variable is hidden). A function is called
 * when needed; an empty pair (both `undefined` or `""`) means "no key".
 *
 * @example
 * ```ts
 * const current: GitlabCurrentKey = { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY };
 * ```
 */
export type GitlabCurrentKey =
  | { readonly accessKeyId?: string | undefined; readonly secretAccessKey?: string | undefined }
  | undefined
  | (() => { readonly accessKeyId?: string | undefined; readonly secretAccessKey?: string | undefined } | undefined);

/**
 * Options for {@link gitlabStore}: the project or the group whose CI/CD variables hold the key, a
 * token, and the job's view of the current key.
 *
 * @example
 * ```ts
 * const options: GitlabStoreOptions = {
 *   project: "acme/deploy",
 *   token: process.env.GITLAB_VARIABLES_TOKEN ?? "",
 *   current: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
 * };
 * ```
 */
export interface GitlabStoreOptions {
  /** GitLab's URL, without `/api/v4`. Default `https://gitlab.com`. */
  readonly baseUrl?: string;
  /** A project, by numeric id or full path (`acme/deploy`): its CI/CD variables. */
  readonly project?: string | number;
  /** A group, by numeric id or full path: its CI/CD variables (then leave out `project`). */
  readonly group?: string | number;
  /** The variable names. Default `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`. */
  readonly names?: GitlabVariableNames;
  /**
   * A personal, project or group access token with the `api` scope, of a user or bot with the
   * Maintainer role on the project (on the group for group variables; some GitLab versions want
   * Owner there). A job's `CI_JOB_TOKEN` cannot manage variables.
   */
  readonly token: string;
  /** The key the variables hold now, used only when the token cannot read them. */
  readonly current: GitlabCurrentKey;
  /**
   * The environment scope of the variables (`production`, `review/*`), when several variables share
   * a name: every call then selects it with `filter[environment_scope]`. Default: none (GitLab's `*`).
   */
  readonly environmentScope?: string;
  /**
   * Where `backup()` keeps the variables (a 0600 file: it holds the secret). Default
   * `$XDG_STATE_HOME/keyup/backup/<hash of the store's name>.json` (`~/.local/state/…`).
   */
  readonly backupPath?: string;
  /** How long the lock is honoured, in ms, before another run may take over a lock whose holder died. Default 900 000 (15 minutes). */
  readonly lockTtlMs?: number;
}

/**
 * A {@link CredentialStore} on GitLab CI/CD variables, with the names it uses.
 *
 * @example
 * ```ts
 * const store: GitlabStore = gitlabStore({ project: "acme/deploy", token, current: undefined });
 * console.log(store.names.accessKeyId, store.lockVariable); // "AWS_ACCESS_KEY_ID" "KEYUP_LOCK_AWS_ACCESS_KEY_ID"
 * ```
 */
export interface GitlabStore extends CredentialStore {
  /** The variable names in use. */
  readonly names: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The CI/CD variable `lock()` creates, in the same project or group. */
  readonly lockVariable: string;
  /** The file `backup()` writes. */
  readonly backupPath: string;
}

const DEFAULT_LOCK_TTL_MS = 15 * 60_000;
// GitLab's rule for variable keys: letters, digits and underscores, at most 255.
const KEY = /^[A-Za-z0-9_]{1,255}$/;

/** What a backup holds for one variable: its value and flags, or null when it did not exist. */
type SavedVariable = ({ value: string } & Partial<VariableFlags>) | null;

/**
 * A {@link CredentialStore} for an access key kept in two GitLab CI/CD variables of a project or a
 * group, through GitLab's REST API (`/projects/:id/variables`, `/groups/:id/variables`) with `fetch`.
 *
 * - `read()` reads both variables from the API. When the token may not read them (403) or a variable
 *   is hidden (GitLab never returns its value), it falls back to what this handle wrote last, else to
 *   `current`. Neither variable: `undefined`; only one: `EINVALID`.
 * - `write(key)` updates the id's variable, then the secret's, with PUT, sending each variable's
 *   flags (type, protected, masked, raw, environment scope, description) back so they stay as they
 *   were. A missing variable is created: the secret masked, both unprotected. GitLab has no call that
 *   writes two variables at once: a pipeline that starts between the two calls gets a mismatched pair.
 * - `backup()` keeps both variables (values and flags) in a 0600 file (`backupPath`) and returns its
 *   fingerprint; `restore()` writes them back exactly, or deletes them if there were none.
 * - `lock()` creates the variable `KEYUP_LOCK_<id variable's name>` with POST, which GitLab refuses
 *   when it exists, holding the holder and an expiry (`lockTtlMs`); an expired keyup lock is taken
 *   over. `release()` deletes it if it is still ours.
 *
 * The store's name is `gitlab:<host>/projects/<id>#<id var>,<secret var>` (or `/groups/<id>`, and
 * `@<environment scope>` when given); no message ever contains a secret or the token.
 *
 * @param options - The project or group, the token, the current key; optionally names and settings.
 * @returns The store.
 * @throws A store error `EINVALID` for a bad project or group, names, token, URL or lock TTL.
 *
 * @example
 * ```ts
 * import { rotate } from "@keyup/core";
 * import { gitlabStore } from "@keyup/store-gitlab";
 *
 * const store = gitlabStore({
 *   project: process.env.CI_PROJECT_ID ?? "acme/deploy",
 *   token: process.env.GITLAB_VARIABLES_TOKEN ?? "",
 *   current: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
 * });
 * const result = await rotate({ store });
 * if (result.isErr()) console.error(result.error.message);
 * ```
 */
export function gitlabStore(options: GitlabStoreOptions): GitlabStore {
  const scope = checkScope(options);
  const names = checkNames(options.names);
  if (typeof options.token !== "string" || options.token.trim() === "") {
    throw createStoreError("EINVALID", "token must be a GitLab access token with the api scope");
  }
  const ttlMs = options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 1_000) {
    throw createStoreError("EINVALID", `lockTtlMs must be at least 1000 ms, got ${String(ttlMs)}`);
  }
  const environmentScope = options.environmentScope;
  if (environmentScope !== undefined && (typeof environmentScope !== "string" || environmentScope === "" || environmentScope.length > 255)) {
    throw createStoreError("EINVALID", "environmentScope must be an environment's name or pattern");
  }
  const baseUrl = options.baseUrl ?? "https://gitlab.com";
  let host: string;
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("not http");
    host = url.host + url.pathname.replace(/\/+$/, "");
  } catch {
    throw createStoreError("EINVALID", "baseUrl must be GitLab's http(s) URL, like https://gitlab.example.com");
  }
  const where = `${host}/${scope.kind}s/${scope.id}${environmentScope === undefined ? "" : `@${environmentScope}`}`;
  const name = `gitlab:${where}#${names.accessKeyId},${names.secretAccessKey}`;
  const backupPath = options.backupPath ?? defaultBackupPath(name);
  if (!isAbsolute(backupPath)) throw createStoreError("EINVALID", "backupPath must be an absolute path");
  const lockVariable = `KEYUP_LOCK_${names.accessKeyId}`.slice(0, 255);
  const api = gitlabApi({ baseUrl, scope, token: options.token, environmentScope, label: name });

  // What this handle last wrote, for a token that may write but not read the variables.
  let written: AccessKeyPair | undefined;

  const fromCurrent = (): AccessKeyPair | undefined => {
    const raw = typeof options.current === "function" ? options.current() : options.current;
    const id = raw?.accessKeyId ?? "";
    const secret = raw?.secretAccessKey ?? "";
    if (id === "" && secret === "") return undefined;
    if (id === "" || secret === "") {
      throw createStoreError("EINVALID", `${name}: current holds only one half of a key (the ${id === "" ? "access key id" : "secret access key"} is empty)`);
    }
    return { accessKeyId: id, secretAccessKey: secret };
  };

  // Both variables as GitLab has them; `unreadable` when the token may not read them.
  const fetchBoth = async (): Promise<{ id?: GitlabVariable; secret?: GitlabVariable } | "unreadable"> => {
    try {
      const [id, secret] = [await api.get(names.accessKeyId), await api.get(names.secretAccessKey)];
      return { ...(id ? { id } : {}), ...(secret ? { secret } : {}) };
    } catch (error) {
      if ((error as { status?: number }).status === 403) return "unreadable";
      throw error;
    }
  };

  const held = async (): Promise<AccessKeyPair | undefined> => {
    const found = await fetchBoth();
    if (found !== "unreadable" && (found.id?.value ?? null) !== null && (found.secret?.value ?? null) !== null) {
      return { accessKeyId: found.id?.value as string, secretAccessKey: found.secret?.value as string };
    }
    if (found !== "unreadable" && !found.id && !found.secret) return undefined;
    if (found !== "unreadable" && (!found.id || !found.secret)) {
      throw createStoreError("EINVALID", `${name}: only variable ${found.id ? names.accessKeyId : names.secretAccessKey} exists; both or neither must`);
    }
    // Hidden or unreadable: what this handle wrote, else the job's view.
    return written ?? fromCurrent();
  };

  const flagsOf = (v: GitlabVariable): VariableFlags => ({
    variable_type: v.variable_type,
    protected: v.protected,
    masked: v.masked,
    raw: v.raw,
    environment_scope: v.environment_scope,
    description: v.description,
  });

  // Writes one variable: PUT with its own flags when it exists, else POST with `fresh`.
  const put = async (key: string, value: string, flags: Partial<VariableFlags> | undefined, fresh: Partial<VariableFlags>) => {
    let existing: GitlabVariable | undefined;
    try {
      existing = await api.get(key);
    } catch (error) {
      // A token that may write but not read: update the value alone, which keeps the flags too.
      if ((error as { status?: number }).status !== 403) throw error;
      await api.update(key, value, flags ?? {});
      return;
    }
    if (existing) await api.update(key, value, flags ?? flagsOf(existing));
    else if (!(await api.create(key, value, flags ?? fresh))) await api.update(key, value, flags ?? {});
  };

  return {
    name,
    names,
    lockVariable,
    backupPath,
    capabilities: { crossProcessLock: true, durableBackup: true },
    lockDomain: { kind: "resource", id: `gitlab:${where}/variables/${lockVariable}` },
    read: async () => {
      const key = await held();
      return key ? { ...key } : undefined;
    },
    write: async (key) => {
      if (!isAccessKeyPair(key)) throw createStoreError("EBADKEY", `${name}: refusing to write a value that is not an access key pair`);
      const found = await fetchBoth();
      if (found !== "unreadable" && found.id?.value === key.accessKeyId && found.secret?.value === key.secretAccessKey) return;
      await put(names.accessKeyId, key.accessKeyId, undefined, { variable_type: "env_var", protected: false, masked: false, raw: true });
      await put(names.secretAccessKey, key.secretAccessKey, undefined, { variable_type: "env_var", protected: false, masked: true, raw: true });
      written = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    },
    backup: async (): Promise<StoreBackup> => {
      const found = await fetchBoth();
      let variables: { id: SavedVariable; secret: SavedVariable };
      if (found !== "unreadable" && (found.id?.value ?? null) !== null && (found.secret?.value ?? null) !== null) {
        const [id, secret] = [found.id as GitlabVariable, found.secret as GitlabVariable];
        variables = { id: { value: id.value as string, ...flagsOf(id) }, secret: { value: secret.value as string, ...flagsOf(secret) } };
      } else {
        const key = await held();
        // Values from the job's view; flags only where GitLab showed them.
        const side = (v: GitlabVariable | undefined, value: string | undefined): SavedVariable =>
          value === undefined ? null : { value, ...(v ? flagsOf(v) : {}) };
        const seen = found === "unreadable" ? {} : found;
        variables = { id: side(seen.id, key?.accessKeyId), secret: side(seen.secret, key?.secretAccessKey) };
      }
      const bytes = Buffer.from(`${JSON.stringify({ store: name, variables })}\n`);
      await writeAtomic(backupPath, bytes, "the backup", { mode: 0o600, createFolder: true });
      return { id: fingerprint(bytes), location: backupPath };
    },
    restore: async (backup) => {
      const id = (backup as { id?: unknown } | null | undefined)?.id;
      const bytes = typeof id === "string" ? await readBytes(backupPath, "the backup") : undefined;
      if (bytes === undefined || fingerprint(bytes) !== id) {
        throw createStoreError("EBACKUP", `${name}: no backup matching this handle at ${backupPath} (never taken here, or replaced by a newer backup)`);
      }
      const saved = JSON.parse(bytes.toString("utf8")) as { store?: unknown; variables?: { id?: SavedVariable; secret?: SavedVariable } };
      const v = saved.variables;
      const ok = (s: unknown): s is SavedVariable => s === null || (typeof s === "object" && typeof (s as { value?: unknown }).value === "string");
      if (saved.store !== name || !v || !ok(v.id) || !ok(v.secret)) {
        throw createStoreError("EBACKUP", `${name}: the backup at ${backupPath} is not one of this store's`);
      }
      const found = await fetchBoth();
      const now = found === "unreadable" ? undefined : found;
      for (const [key, s, current] of [
        [names.accessKeyId, v.id, now?.id],
        [names.secretAccessKey, v.secret, now?.secret],
      ] as const) {
        if (s === null) {
          if (found === "unreadable" || current) await api.remove(key);
          continue;
        }
        const { value, ...flags } = s;
        // Already exactly as saved: leave it alone.
        if (current && current.value === value && JSON.stringify(flagsOf(current)) === JSON.stringify({ ...flagsOf(current), ...flags })) continue;
        await put(key, value, flags, flags);
      }
      written = v.id && v.secret ? { accessKeyId: v.id.value, secretAccessKey: v.secret.value } : undefined;
    },
    discard: (backup) => discardBackupFile(backupPath, backup),
    lock: (): Promise<StoreLock> => acquireVariableLock(api, lockVariable, ttlMs),
  };
}

function defaultBackupPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME?.startsWith("/") ? env.XDG_STATE_HOME : join(env.HOME ?? homedir(), ".local", "state");
  return join(base, "keyup", "backup", `${createHash("sha256").update(name).digest("hex").slice(0, 32)}.json`);
}

function checkScope(options: GitlabStoreOptions): VariableScope {
  const { project, group } = options ?? ({} as GitlabStoreOptions);
  const ok = (value: unknown): value is string | number =>
    (typeof value === "number" && Number.isSafeInteger(value) && value > 0) ||
    (typeof value === "string" && /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(value) && value.length <= 1024);
  if (project !== undefined && group !== undefined) throw createStoreError("EINVALID", "give either project or group, not both");
  if (project !== undefined) {
    if (!ok(project)) throw createStoreError("EINVALID", "project must be a project's id or full path (group/project)");
    return { kind: "project", id: String(project) };
  }
  if (group !== undefined) {
    if (!ok(group)) throw createStoreError("EINVALID", "group must be a group's id or full path");
    return { kind: "group", id: String(group) };
  }
  throw createStoreError("EINVALID", "give project (its CI/CD variables) or group (the group's)");
}

function checkNames(names: GitlabVariableNames | undefined): { accessKeyId: string; secretAccessKey: string } {
  const accessKeyId = names?.accessKeyId ?? "AWS_ACCESS_KEY_ID";
  const secretAccessKey = names?.secretAccessKey ?? "AWS_SECRET_ACCESS_KEY";
  for (const value of [accessKeyId, secretAccessKey]) {
    if (typeof value !== "string" || !KEY.test(value)) {
      throw createStoreError("EINVALID", "variable names must be 1 to 255 letters, digits and underscores");
    }
  }
  if (accessKeyId === secretAccessKey) throw createStoreError("EINVALID", "the two variable names must differ");
  return { accessKeyId, secretAccessKey };
}

import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { type AccessKeyPair, type CredentialStore, createStoreError, isAccessKeyPair, type StoreBackup, type StoreLock } from "@keyup/core";
import { discardBackupFile, fingerprint, readBytes, writeAtomic } from "@keyup/core/files";
import type { Octokit } from "@octokit/rest";
import { githubApi, type SecretScope, scopeLabel } from "./_internal/github-api.js";
import { sealForGithub } from "./_internal/sealed-box.js";
import { acquireVariableLock } from "./_internal/variable-lock.js";

/**
 * The secret names the key is kept under. Both default to the names the AWS SDKs and CLI read from
 * the environment: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
 *
 * @example
 * ```ts
 * const names: GithubSecretNames = { accessKeyId: "DEPLOY_KEY_ID", secretAccessKey: "DEPLOY_SECRET" };
 * ```
 */
export interface GithubSecretNames {
  /** Secret holding the access key id. Default `AWS_ACCESS_KEY_ID`. */
  readonly accessKeyId?: string;
  /** Secret holding the secret access key. Default `AWS_SECRET_ACCESS_KEY`. */
  readonly secretAccessKey?: string;
}

/**
 * The key the secrets hold now, as the workflow sees it. Secrets are write-only through GitHub's API,
 * so the store cannot read them: give it the values the job received, usually its environment. A
 * function is called on every `read()` (an empty pair, both `undefined` or `""`, means "no key").
 *
 * @example
 * ```ts
 * const current: CurrentKey = { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY };
 * ```
 */
export type CurrentKey =
  | { readonly accessKeyId?: string | undefined; readonly secretAccessKey?: string | undefined }
  | undefined
  | (() => { readonly accessKeyId?: string | undefined; readonly secretAccessKey?: string | undefined } | undefined);

/**
 * Options for {@link githubActionsStore}: where the secrets are (`owner` + `repo`, plus `environment`
 * for environment secrets; or `org` alone for organisation secrets), a token, and the current key.
 *
 * @example
 * ```ts
 * const options: GithubActionsStoreOptions = {
 *   owner: "acme",
 *   repo: "deploy",
 *   token: process.env.GH_SECRETS_TOKEN ?? "",
 *   current: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
 * };
 * ```
 */
export interface GithubActionsStoreOptions {
  /** The repository's owner (user or organisation), for repository and environment secrets. */
  readonly owner?: string;
  /** The repository's name, for repository and environment secrets. */
  readonly repo?: string;
  /** An environment of the repository: its secrets instead of the repository's. */
  readonly environment?: string;
  /** An organisation: its secrets instead of a repository's (then leave out `owner` and `repo`). */
  readonly org?: string;
  /** The secret names. Default `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`. */
  readonly names?: GithubSecretNames;
  /**
   * A token that may write the secrets and variables: a fine-grained token with the repository
   * permissions "Secrets: write" and "Variables: write" (organisation: "Secrets" and "Variables" of
   * the organisation, write), or a classic token with `repo` (`admin:org` for organisation secrets).
   * The workflow's own `GITHUB_TOKEN` cannot write secrets.
   */
  readonly token: string;
  /** The key the secrets hold now (they cannot be read back): the job's environment, usually. */
  readonly current: CurrentKey;
  /** The API's base URL. Default `https://api.github.com` (GitHub Enterprise Server: `https://HOST/api/v3`). */
  readonly baseUrl?: string;
  /**
   * Where `backup()` keeps the current key (a 0600 file: it holds the secret). Default
   * `$XDG_STATE_HOME/keyup/backup/<hash of the store's name>.json` (`~/.local/state/…`).
   */
  readonly backupPath?: string;
  /** How long the lock is honoured, in ms, before another run may take over a lock whose holder died. Default 900 000 (15 minutes). */
  readonly lockTtlMs?: number;
  /** A ready Octokit (GitHub Enterprise with a custom agent, tests). When given, `token` and `baseUrl` are not used. */
  readonly octokit?: Octokit;
}

/**
 * A {@link CredentialStore} on GitHub Actions secrets, with the names it uses.
 *
 * @example
 * ```ts
 * const store: GithubActionsStore = githubActionsStore({ owner: "acme", repo: "deploy", token, current: undefined });
 * console.log(store.names.accessKeyId, store.lockVariable); // "AWS_ACCESS_KEY_ID" "KEYUP_LOCK_AWS_ACCESS_KEY_ID"
 * ```
 */
export interface GithubActionsStore extends CredentialStore {
  /** The secret names in use. */
  readonly names: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The Actions variable `lock()` creates, in the same repository, environment or organisation. */
  readonly lockVariable: string;
  /** The file `backup()` writes. */
  readonly backupPath: string;
}

const DEFAULT_LOCK_TTL_MS = 15 * 60_000;
// GitHub's rule for secret and variable names: letters, digits and underscores, not starting with a
// digit or GITHUB_.
const NAME = /^(?!GITHUB_)[A-Z_][A-Z0-9_]*$/i;
const SLUG = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * A {@link CredentialStore} for an access key kept in two GitHub Actions secrets (repository,
 * environment or organisation), written through GitHub's REST API.
 *
 * - `read()` returns what this store wrote last, while GitHub's `updated_at` of both secrets shows
 *   that nobody wrote them since; otherwise `current`: secrets are write-only, so the store knows the
 *   key only from the job that received it. With no current key it checks that the secrets do not
 *   exist (empty store: `undefined`); if they do, it fails with `EINVALID`, since it cannot tell what
 *   they hold.
 * - `write(key)` seals each value with the scope's public key (libsodium `crypto_box_seal`, as
 *   GitHub documents) and updates the id's secret, then the secret key's. GitHub has no transaction
 *   over two secrets: a job that starts between the two calls gets a mismatched pair. An organisation
 *   secret keeps its visibility and selected repositories; a new one is created with visibility
 *   `selected` and no repository.
 * - `backup()` keeps the current key in a 0600 file (`backupPath`) and returns its fingerprint;
 *   `restore()` writes that key back (or deletes the secrets, if there were none). The values are
 *   restored exactly; GitHub's `updated_at` of each secret shows the time of the restore.
 * - `lock()` creates the Actions variable `KEYUP_LOCK_<id secret's name>` in the same scope, which
 *   GitHub refuses when it exists, holding the holder and an expiry (`lockTtlMs`); an expired lock is
 *   taken over. `release()` deletes it if it is still ours.
 *
 * The store's name is `github-actions:<owner>/<repo>[/environments/<env>]#<id>,<secret>` or
 * `github-actions:org/<org>#…`; no message ever contains a secret or the token.
 *
 * @param options - Where the secrets are, the token, the current key; optionally names and settings.
 * @returns The store.
 * @throws A store error `EINVALID` for a bad scope, names, token or lock TTL.
 *
 * @example
 * ```ts
 * import { rotate } from "@keyup/core";
 * import { githubActionsStore } from "@keyup/store-github-actions";
 *
 * const store = githubActionsStore({
 *   owner: "acme",
 *   repo: "deploy",
 *   token: process.env.GH_SECRETS_TOKEN ?? "",
 *   current: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
 * });
 * const result = await rotate({ store });
 * if (result.isErr()) console.error(result.error.message);
 * ```
 */
export function githubActionsStore(options: GithubActionsStoreOptions): GithubActionsStore {
  const scope = checkScope(options);
  const names = checkNames(options.names);
  if (!options.octokit && (typeof options.token !== "string" || options.token.trim() === "")) {
    throw createStoreError("EINVALID", "token must be a GitHub token that may write the secrets and variables");
  }
  const ttlMs = options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 1_000) {
    throw createStoreError("EINVALID", `lockTtlMs must be at least 1000 ms, got ${String(ttlMs)}`);
  }
  const where = scopeLabel(scope);
  const name = `github-actions:${where}#${names.accessKeyId},${names.secretAccessKey}`;
  const backupPath = options.backupPath ?? defaultBackupPath(name);
  if (!isAbsolute(backupPath)) throw createStoreError("EINVALID", "backupPath must be an absolute path");
  const lockVariable = `KEYUP_LOCK_${names.accessKeyId}`.slice(0, 100);

  let client: Promise<Octokit> | undefined;
  // @octokit/rest is an ES module only: importing it on first use keeps this package loadable by require().
  const octokit = (): Promise<Octokit> => {
    if (options.octokit) return Promise.resolve(options.octokit);
    client ??= import("@octokit/rest").then(
      ({ Octokit }) => new Octokit({ auth: options.token, userAgent: "keyup", ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}), log: silent }),
    );
    return client;
  };
  const api = githubApi(octokit, scope, name);

  // When the secrets were last changed, as GitHub reports it (`updated_at` of each, or absent).
  const stamp = async (): Promise<string> => {
    const found = await Promise.all([api.secret(names.accessKeyId), api.secret(names.secretAccessKey)]);
    return found.map((f) => f?.updatedAt ?? "absent").join(" ");
  };

  // What this handle itself last put into the secrets (the key, or none after deleting them), and
  // GitHub's stamp right after. While the stamp is unchanged it is what the secrets hold; once
  // someone else has written them it is worthless, and `current`, the job's view, is all we have.
  let known: { key: AccessKeyPair | undefined; stamp: string } | undefined;
  const knownNow = async (): Promise<{ key: AccessKeyPair | undefined } | undefined> => {
    if (known === undefined) return undefined;
    if ((await stamp()) === known.stamp) return known;
    known = undefined;
    return undefined;
  };

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

  const held = async (): Promise<AccessKeyPair | undefined> => {
    const mine = await knownNow();
    if (mine) return mine.key;
    const key = fromCurrent();
    if (key !== undefined) return key;
    // GitHub answers 404 both for a missing secret and a missing repository: the public key tells them apart.
    await api.publicKey();
    const existing = [];
    for (const secret of [names.accessKeyId, names.secretAccessKey]) if (await api.secret(secret)) existing.push(secret);
    if (existing.length > 0) {
      throw createStoreError(
        "EINVALID",
        `${name}: secret ${existing.join(" and ")} exists but current gives no key; pass the values the job received (its environment), since secrets cannot be read back`,
      );
    }
    return undefined;
  };

  const put = async (key: AccessKeyPair): Promise<void> => {
    const { keyId, key: publicKey } = await api.publicKey();
    for (const [secret, value] of [
      [names.accessKeyId, key.accessKeyId],
      [names.secretAccessKey, key.secretAccessKey],
    ] as const) {
      const body: Record<string, unknown> = { encrypted_value: await sealForGithub(value, publicKey), key_id: keyId };
      if (scope.kind === "organisation") {
        const existing = await api.secret(secret);
        body.visibility = existing?.visibility ?? "selected";
        if (body.visibility === "selected") body.selected_repository_ids = existing?.selectedRepositoryIds ?? [];
      }
      await api.putSecret(secret, body);
    }
    known = { key: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey }, stamp: await stamp() };
  };

  const same = (a: AccessKeyPair | undefined, b: AccessKeyPair): boolean => a?.accessKeyId === b.accessKeyId && a.secretAccessKey === b.secretAccessKey;

  return {
    name,
    names,
    lockVariable,
    backupPath,
    capabilities: { crossProcessLock: true, durableBackup: true },
    lockDomain: { kind: "resource", id: `github-actions:${where}/variables/${lockVariable}` },
    read: async () => {
      const key = await held();
      return key ? { ...key } : undefined;
    },
    write: async (key) => {
      if (!isAccessKeyPair(key)) throw createStoreError("EBADKEY", `${name}: refusing to write a value that is not an access key pair`);
      // Only what this handle wrote itself, unchanged since, counts as "already there": `current` is
      // the job's view from its start, and another run may have changed the secrets since.
      const mine = await knownNow();
      if (mine?.key && same(mine.key, key)) return;
      await put(key);
    },
    backup: async (): Promise<StoreBackup> => {
      const key = await held();
      const bytes = Buffer.from(`${JSON.stringify({ store: name, key: key ?? null })}\n`);
      await writeAtomic(backupPath, bytes, "the backup", { mode: 0o600, createFolder: true });
      return { id: fingerprint(bytes), location: backupPath };
    },
    restore: async (backup) => {
      const id = (backup as { id?: unknown } | null | undefined)?.id;
      const bytes = typeof id === "string" ? await readBytes(backupPath, "the backup") : undefined;
      if (bytes === undefined || fingerprint(bytes) !== id) {
        throw createStoreError("EBACKUP", `${name}: no backup matching this handle at ${backupPath} (never taken here, or replaced by a newer backup)`);
      }
      const saved = JSON.parse(bytes.toString("utf8")) as { store?: unknown; key?: unknown };
      if (saved.store !== name || (saved.key !== null && !isAccessKeyPair(saved.key))) {
        throw createStoreError("EBACKUP", `${name}: the backup at ${backupPath} is not one of this store's`);
      }
      const mine = await knownNow();
      if (saved.key === null) {
        if (mine && mine.key === undefined) return;
        await api.deleteSecret(names.accessKeyId);
        await api.deleteSecret(names.secretAccessKey);
        known = { key: undefined, stamp: await stamp() };
        return;
      }
      if (mine?.key && same(mine.key, saved.key)) return;
      await put(saved.key);
    },
    discard: (backup) => discardBackupFile(backupPath, backup),
    lock: (): Promise<StoreLock> => acquireVariableLock(api, lockVariable, ttlMs),
  };
}

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function defaultBackupPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME?.startsWith("/") ? env.XDG_STATE_HOME : join(env.HOME ?? homedir(), ".local", "state");
  return join(base, "keyup", "backup", `${createHash("sha256").update(name).digest("hex").slice(0, 32)}.json`);
}

function checkScope(options: GithubActionsStoreOptions): SecretScope {
  const { owner, repo, environment, org } = options ?? ({} as GithubActionsStoreOptions);
  const slug = (value: unknown): value is string => typeof value === "string" && SLUG.test(value);
  if (org !== undefined) {
    if (owner !== undefined || repo !== undefined || environment !== undefined) {
      throw createStoreError("EINVALID", "give either org (organisation secrets) or owner and repo (repository or environment secrets), not both");
    }
    if (!slug(org)) throw createStoreError("EINVALID", "org must be an organisation's login");
    return { kind: "organisation", org };
  }
  if (!slug(owner) || !slug(repo)) throw createStoreError("EINVALID", "owner and repo must name a repository (or give org for organisation secrets)");
  if (environment === undefined) return { kind: "repository", owner, repo };
  if (typeof environment !== "string" || environment === "" || environment.length > 255 || /[\p{Cc}]/u.test(environment)) {
    throw createStoreError("EINVALID", "environment must be an environment's name");
  }
  return { kind: "environment", owner, repo, environment };
}

function checkNames(names: GithubSecretNames | undefined): { accessKeyId: string; secretAccessKey: string } {
  const accessKeyId = names?.accessKeyId ?? "AWS_ACCESS_KEY_ID";
  const secretAccessKey = names?.secretAccessKey ?? "AWS_SECRET_ACCESS_KEY";
  for (const value of [accessKeyId, secretAccessKey]) {
    if (typeof value !== "string" || !NAME.test(value)) {
      throw createStoreError("EINVALID", "secret names must be letters, digits and underscores, not starting with a digit or GITHUB_");
    }
  }
  if (accessKeyId.toUpperCase() === secretAccessKey.toUpperCase()) throw createStoreError("EINVALID", "the two secret names must differ");
  return { accessKeyId, secretAccessKey };
}

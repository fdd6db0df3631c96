import { createStoreError } from "@keyup/core";
import type { Octokit } from "@octokit/rest";

/** Where the secrets live: a repository, one of its environments, or an organisation. */
export type SecretScope =
  | { readonly kind: "repository"; readonly owner: string; readonly repo: string }
  | { readonly kind: "environment"; readonly owner: string; readonly repo: string; readonly environment: string }
  | { readonly kind: "organisation"; readonly org: string };

/**
 * The REST path under which a scope's `secrets` and `variables` are: `/repos/o/r/actions` and
 * `/orgs/o/actions`, but `/repos/o/r/environments/e` for an environment (no `/actions` there).
 */
function apiBase(scope: SecretScope): string {
  const e = encodeURIComponent;
  switch (scope.kind) {
    case "repository":
      return `/repos/${e(scope.owner)}/${e(scope.repo)}/actions`;
    case "environment":
      return `/repos/${e(scope.owner)}/${e(scope.repo)}/environments/${e(scope.environment)}`;
    case "organisation":
      return `/orgs/${e(scope.org)}/actions`;
  }
}

/** How a scope is written in the store's name: `acme/deploy`, `acme/deploy/environments/prod`, `org/acme`. */
export function scopeLabel(scope: SecretScope): string {
  switch (scope.kind) {
    case "repository":
      return `${scope.owner}/${scope.repo}`;
    case "environment":
      return `${scope.owner}/${scope.repo}/environments/${scope.environment}`;
    case "organisation":
      return `org/${scope.org}`;
  }
}

/** An Octokit request failure reduced to what is safe to keep: no request, headers or body (which hold the token and sealed values). */
interface HttpFailure {
  readonly status: number;
  readonly message: string;
}

function httpFailure(error: unknown): HttpFailure | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status !== "number") return undefined;
  const message = (error as { response?: { data?: { message?: unknown } } }).response?.data?.message;
  return { status, message: typeof message === "string" ? message.slice(0, 200) : "" };
}

/** The calls the store makes, each one documented REST operation, with failures turned into store errors. */
export interface GithubApi {
  publicKey(): Promise<{ keyId: string; key: string }>;
  /** Whether the secret exists, and for an organisation secret its visibility and selected repositories. */
  secret(name: string): Promise<{ updatedAt: string; visibility?: string; selectedRepositoryIds?: number[] } | undefined>;
  putSecret(name: string, body: Record<string, unknown>): Promise<void>;
  deleteSecret(name: string): Promise<void>;
  /** Creates a variable; false when one with that name exists already (409, or 422 "already exists"). */
  createVariable(name: string, value: string): Promise<boolean>;
  variable(name: string): Promise<string | undefined>;
  deleteVariable(name: string): Promise<void>;
}

/** The store's calls against `scope`, through `octokit`. `label` names the store in messages. */
export function githubApi(octokit: () => Promise<Octokit>, scope: SecretScope, label: string): GithubApi {
  const base = apiBase(scope);
  const e = encodeURIComponent;

  const call = async <T>(what: string, route: string, params: Record<string, unknown> = {}): Promise<{ status: number; data: T }> => {
    const client = await octokit();
    try {
      const response = await client.request(route, params);
      return { status: response.status, data: response.data as T };
    } catch (error) {
      throw toStoreError(error, `${label}: ${what}`);
    }
  };

  const missing = (error: unknown): boolean => (error as { status?: number }).status === 404;

  return {
    publicKey: async () => {
      const { data } = await call<{ key_id: string; key: string }>("get the public key", `GET ${base}/secrets/public-key`);
      return { keyId: data.key_id, key: data.key };
    },
    secret: async (name) => {
      try {
        const { data } = await call<{ visibility?: string; updated_at: string }>(`look up secret ${name}`, `GET ${base}/secrets/${e(name)}`);
        const found = { updatedAt: data.updated_at };
        if (scope.kind !== "organisation" || data.visibility !== "selected")
          return data.visibility === undefined ? found : { ...found, visibility: data.visibility };
        const repos = await call<{ repositories: { id: number }[] }>(`list the repositories of secret ${name}`, `GET ${base}/secrets/${e(name)}/repositories`, {
          per_page: 100,
        });
        return { ...found, visibility: "selected", selectedRepositoryIds: repos.data.repositories.map((r) => r.id) };
      } catch (error) {
        if (missing(error)) return undefined;
        throw error;
      }
    },
    putSecret: async (name, body) => {
      await call(`write secret ${name}`, `PUT ${base}/secrets/${e(name)}`, body);
    },
    deleteSecret: async (name) => {
      try {
        await call(`delete secret ${name}`, `DELETE ${base}/secrets/${e(name)}`);
      } catch (error) {
        if (!missing(error)) throw error;
      }
    },
    createVariable: async (name, value) => {
      // An organisation variable needs a visibility: "selected" with no repository, since the lock
      // variable is for keyup alone and no workflow needs to see it.
      const body = scope.kind === "organisation" ? { name, value, visibility: "selected", selected_repository_ids: [] } : { name, value };
      try {
        await call(`create variable ${name}`, `POST ${base}/variables`, body);
        return true;
      } catch (error) {
        const status = (error as { status?: number }).status;
        // GitHub answers a create of an existing variable with 409 Conflict (its OpenAPI description
        // lists only 201); 422 is what it answers for other validation failures, so only a 422 whose
        // variable really exists counts as "taken".
        if (status === 409) return false;
        if (status === 422 && (await exists(name))) return false;
        throw error;
      }
    },
    variable: async (name) => {
      try {
        const { data } = await call<{ value: string }>(`read variable ${name}`, `GET ${base}/variables/${e(name)}`);
        return data.value;
      } catch (error) {
        if (missing(error)) return undefined;
        throw error;
      }
    },
    deleteVariable: async (name) => {
      try {
        await call(`delete variable ${name}`, `DELETE ${base}/variables/${e(name)}`);
      } catch (error) {
        if (!missing(error)) throw error;
      }
    },
  };

  async function exists(name: string): Promise<boolean> {
    try {
      await call(`read variable ${name}`, `GET ${base}/variables/${e(name)}`);
      return true;
    } catch (error) {
      if (missing(error)) return false;
      throw error;
    }
  }
}

/**
 * A store error for a failed GitHub call, keeping the HTTP status on the error (for the callers'
 * 404 checks) and only status and GitHub's message as the cause: Octokit's own error carries the
 * request, whose body holds sealed values and whose headers once held the token.
 */
function toStoreError(error: unknown, what: string): Error {
  const failure = httpFailure(error);
  if (!failure) {
    const reason = error instanceof Error ? error.message.slice(0, 200) : String(error).slice(0, 200);
    return createStoreError("EIO", `${what} failed: ${reason}`);
  }
  const detail = failure.message ? `: ${failure.message}` : "";
  const hint =
    failure.status === 401
      ? " (the token is not valid)"
      : failure.status === 403
        ? " (the token lacks a permission: secrets and variables need write access)"
        : failure.status === 404
          ? " (no such repository, environment, organisation or name, or the token cannot see it)"
          : "";
  const code = failure.status === 404 ? "ENOTFOUND" : "EIO";
  const out = createStoreError(code, `${what} failed with HTTP ${failure.status}${detail}${hint}`, { cause: { ...failure } });
  Object.defineProperty(out, "status", { value: failure.status, enumerable: false });
  return out;
}

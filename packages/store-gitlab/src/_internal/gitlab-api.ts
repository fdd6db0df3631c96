import { createStoreError } from "@keyup/core";

/** Where the variables live: a project's CI/CD variables or a group's. `id` is a numeric id or a full path. */
export interface VariableScope {
  readonly kind: "project" | "group";
  readonly id: string;
}

/**
 * A CI/CD variable as GitLab's API shows it (Project-level CI/CD variables API and Group-level
 * variables API, docs.gitlab.com/api/project_level_variables and /api/group_level_variables).
 * `value` is null for a hidden variable, whose value GitLab never returns.
 */
export interface GitlabVariable {
  readonly key: string;
  readonly value: string | null;
  readonly variable_type: "env_var" | "file";
  readonly protected: boolean;
  readonly masked: boolean;
  readonly hidden?: boolean;
  readonly raw: boolean;
  readonly environment_scope: string;
  readonly description: string | null;
}

/** The flags of a variable that an update must send back so they stay as they were. */
export type VariableFlags = Pick<GitlabVariable, "variable_type" | "protected" | "masked" | "raw" | "environment_scope" | "description">;

/** The store's calls, each one documented REST operation, with failures turned into store errors. */
export interface GitlabApi {
  /** The variable, `undefined` when it does not exist; throws `EACCES` when the token may not read it. */
  get(key: string): Promise<GitlabVariable | undefined>;
  /** Creates a variable; `false` when one with that key (and environment scope) exists already. */
  create(key: string, value: string, flags: Partial<VariableFlags>): Promise<boolean>;
  /** Updates the value, sending `flags` back so GitLab keeps them. */
  update(key: string, value: string, flags: Partial<VariableFlags>): Promise<void>;
  /** Deletes the variable; a missing one is not an error. */
  remove(key: string): Promise<void>;
}

/** The calls against `scope` on the GitLab at `baseUrl`; `environmentScope` picks one of several variables with the same key. */
export function gitlabApi(options: {
  readonly baseUrl: string;
  readonly scope: VariableScope;
  readonly token: string;
  readonly environmentScope: string | undefined;
  readonly label: string;
}): GitlabApi {
  const { scope, token, environmentScope, label } = options;
  const root = `${options.baseUrl.replace(/\/+$/, "")}/api/v4/${scope.kind}s/${encodeURIComponent(scope.id)}/variables`;
  const filter = environmentScope === undefined ? "" : `?${new URLSearchParams({ "filter[environment_scope]": environmentScope })}`;

  // `hide` are the values in the request: GitLab's validation messages could quote them, so they are
  // cut out of anything kept from the answer.
  const call = async (what: string, method: string, url: string, body: Record<string, unknown> | undefined, hide: string[]) => {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { "PRIVATE-TOKEN": token, accept: "application/json", ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      // fetch's own errors name the URL and the cause, never the headers.
      const reason = error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ""}` : String(error);
      throw createStoreError("EIO", `${label}: ${what} failed: ${scrub(reason, [token, ...hide])}`);
    }
    const text = await response.text();
    let data: unknown;
    try {
      data = text === "" ? undefined : JSON.parse(text);
    } catch {
      data = undefined;
    }
    return { status: response.status, data, fail: () => httpError(`${label}: ${what}`, response.status, data, [token, ...hide]) };
  };

  const e = encodeURIComponent;
  return {
    get: async (key) => {
      const r = await call(`read variable ${key}`, "GET", `${root}/${e(key)}${filter}`, undefined, []);
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw r.fail();
      return r.data as GitlabVariable;
    },
    create: async (key, value, flags) => {
      const body = { key, value, ...flags, ...(environmentScope === undefined ? {} : { environment_scope: environmentScope }) };
      const r = await call(`create variable ${key}`, "POST", root, body, [value]);
      if (r.status === 201) return true;
      // GitLab answers a second create of the same key and environment scope with 400 and
      // {"message":{"key":["(KEY) has already been taken"]}}; any other 400 is a real failure.
      if (r.status === 400 && taken(r.data)) return false;
      throw r.fail();
    },
    update: async (key, value, flags) => {
      const r = await call(`update variable ${key}`, "PUT", `${root}/${e(key)}${filter}`, { value, ...flags }, [value]);
      if (r.status !== 200) throw r.fail();
    },
    remove: async (key) => {
      const r = await call(`delete variable ${key}`, "DELETE", `${root}/${e(key)}${filter}`, undefined, []);
      if (r.status !== 204 && r.status !== 404) throw r.fail();
    },
  };
}

function taken(data: unknown): boolean {
  const keyErrors = (data as { message?: { key?: unknown } } | undefined)?.message?.key;
  return Array.isArray(keyErrors) && keyErrors.some((m) => typeof m === "string" && m.includes("has already been taken"));
}

function scrub(text: string, hide: string[]): string {
  let out = text;
  for (const h of hide) if (h.length >= 4) out = out.split(h).join("***");
  return out.slice(0, 300);
}

/**
 * A store error for a failed GitLab call: the status, GitLab's message (with the token and the values
 * sent cut out) and a hint. 403 is `EACCES` so `read()` can fall back to `current` when the token may
 * write but not read.
 */
function httpError(what: string, status: number, data: unknown, hide: string[]): Error {
  const raw = (data as { message?: unknown; error?: unknown } | undefined)?.message ?? (data as { error?: unknown } | undefined)?.error;
  const message = raw === undefined ? "" : scrub(typeof raw === "string" ? raw : JSON.stringify(raw), hide);
  const hint =
    status === 401
      ? " (the token is not valid)"
      : status === 403
        ? " (the token lacks a permission: the api scope and the Maintainer role are needed)"
        : status === 404
          ? " (no such project, group or variable, or the token cannot see it)"
          : "";
  const code = status === 404 ? "ENOTFOUND" : status === 403 ? "EACCES" : "EIO";
  const out = createStoreError(code, `${what} failed with HTTP ${status}${message ? `: ${message}` : ""}${hint}`, { cause: { status, message } });
  Object.defineProperty(out, "status", { value: status, enumerable: false });
  return out;
}

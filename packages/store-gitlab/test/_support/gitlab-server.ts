import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for GitLab's REST API on 127.0.0.1: the single-variable endpoints of the
 * "Project-level CI/CD variables API" (https://docs.gitlab.com/api/project_level_variables/) and the
 * "Group-level variables API" (https://docs.gitlab.com/api/group_level_variables/):
 *
 *   GET    /api/v4/(projects|groups)/:id/variables/:key   [filter[environment_scope]]
 *   POST   /api/v4/(projects|groups)/:id/variables        key, value (required); variable_type,
 *          protected, masked, masked_and_hidden, raw, environment_scope, description
 *   PUT    /api/v4/(projects|groups)/:id/variables/:key   value (required); variable_type, protected,
 *          masked, raw, environment_scope, description  [filter[environment_scope]]
 *   DELETE /api/v4/(projects|groups)/:id/variables/:key   [filter[environment_scope]]
 *
 * with the documented answer shapes (the variable as JSON; 201, 200, 204), GitLab's errors (401
 * without a valid PRIVATE-TOKEN, 404 "Variable Not Found", 400 "has already been taken", 400 for a
 * value that cannot be masked, 409 when several variables match without a filter). Every request is
 * checked for the documented parameters and their types; what breaks them is recorded in
 * `violations` (tests assert it stays empty) and answered 400, as GitLab would refuse it.
 */

export interface StoredVariable {
  key: string;
  value: string;
  variable_type: "env_var" | "file";
  protected: boolean;
  masked: boolean;
  hidden: boolean;
  raw: boolean;
  environment_scope: string;
  description: string | null;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly body: unknown;
}

/** A fault to inject: the next request for which `when` is true is answered `status` instead. */
export interface Fault {
  readonly when: (request: RecordedRequest) => boolean;
  readonly status: number;
  readonly times?: number;
}

export interface GitlabServer {
  readonly url: string;
  readonly token: string;
  /** Variables by scope (`projects/acme%2Fdeploy`, `groups/7`), in creation order. */
  readonly variables: Map<string, StoredVariable[]>;
  readonly requests: RecordedRequest[];
  readonly violations: string[];
  /** Makes a project or group exist, by its path as it appears in URLs (`projects/acme%2Fdeploy`). */
  addScope(scope: string): void;
  /** The variable `key` (in `environmentScope`, default the first with that key) of a scope. */
  variable(scope: string, key: string, environmentScope?: string): StoredVariable | undefined;
  /** Puts a variable in place as if set earlier through the web interface. */
  seed(scope: string, variable: Partial<StoredVariable> & { key: string; value: string }): void;
  inject(fault: Fault): void;
  close(): Promise<void>;
}

// The documented request parameters and their types, per operation.
const BOOL = "boolean";
const STR = "string";
const CREATE: Record<string, string> = {
  key: STR,
  value: STR,
  variable_type: STR,
  protected: BOOL,
  masked: BOOL,
  masked_and_hidden: BOOL,
  raw: BOOL,
  environment_scope: STR,
  description: STR,
};
const UPDATE: Record<string, string> = {
  value: STR,
  variable_type: STR,
  protected: BOOL,
  masked: BOOL,
  raw: BOOL,
  environment_scope: STR,
  description: STR,
};

/** GitLab's masking rule: a single line of at least 8 characters from the Base64 alphabet (RFC 4648) plus `@ : . ~ -`. */
const MASKABLE = /^[A-Za-z0-9+/=@:.~-]{8,}$/;

export async function startGitlabServer(options: { token?: string; scopes?: string[] } = {}): Promise<GitlabServer> {
  const token = options.token ?? "glpat-keyuptestTOKEN00000";
  const variables = new Map<string, StoredVariable[]>((options.scopes ?? []).map((s) => [s, []]));
  const requests: RecordedRequest[] = [];
  const violations: string[] = [];
  const faults: { fault: Fault; left: number }[] = [];

  const check = (what: string, body: Record<string, unknown>, allowed: Record<string, string>, required: string[]): string[] => {
    const problems: string[] = [];
    for (const r of required) if (body[r] === undefined) problems.push(`${what}: ${r} is missing`);
    for (const [k, v] of Object.entries(body)) {
      const type = allowed[k];
      if (type === undefined) problems.push(`${what}: ${k} is not a documented parameter`);
      else if (k === "description" && v === null) continue;
      else if (typeof v !== type) problems.push(`${what}: ${k} must be a ${type}, got ${typeof v}`);
    }
    if (body.variable_type !== undefined && body.variable_type !== "env_var" && body.variable_type !== "file")
      problems.push(`${what}: variable_type must be env_var or file`);
    if (typeof body.key === "string" && !/^[A-Za-z0-9_]{1,255}$/.test(body.key)) problems.push(`${what}: key must be letters, digits and underscores`);
    return problems;
  };

  const show = (v: StoredVariable) => ({
    variable_type: v.variable_type,
    key: v.key,
    value: v.hidden ? null : v.value,
    protected: v.protected,
    masked: v.masked,
    hidden: v.hidden,
    raw: v.raw,
    environment_scope: v.environment_scope,
    description: v.description,
  });

  const handle = (method: string, scope: string, key: string | undefined, filter: string | undefined, body: Record<string, unknown>) => {
    const list = variables.get(scope);
    if (!list) return { status: 404, body: { message: `404 ${scope.startsWith("groups/") ? "Group" : "Project"} Not Found` } };
    if (method === "POST" && key === undefined) {
      const problems = check("create variable", body, CREATE, ["key", "value"]);
      if (problems.length > 0) {
        violations.push(...problems);
        return { status: 400, body: { error: problems.join("; ") } };
      }
      const envScope = (body.environment_scope as string | undefined) ?? "*";
      if (list.some((v) => v.key === body.key && v.environment_scope === envScope))
        return { status: 400, body: { message: { key: [`(${String(body.key)}) has already been taken`] } } };
      const hidden = body.masked_and_hidden === true;
      const masked = hidden || body.masked === true;
      if (masked && !MASKABLE.test(String(body.value))) return { status: 400, body: { message: { value: ["is invalid"] } } };
      const v: StoredVariable = {
        key: String(body.key),
        value: String(body.value),
        variable_type: (body.variable_type as StoredVariable["variable_type"]) ?? "env_var",
        protected: body.protected === true,
        masked,
        hidden,
        raw: body.raw === true,
        environment_scope: envScope,
        description: (body.description as string | undefined) ?? null,
      };
      list.push(v);
      return { status: 201, body: show(v) };
    }
    if (key === undefined) return { status: 405, body: { message: "405 Method Not Allowed" } };
    const matches = list.filter((v) => v.key === key && (filter === undefined || v.environment_scope === filter));
    if (matches.length === 0) return { status: 404, body: { message: "404 Variable Not Found" } };
    const [found] = matches as [StoredVariable];
    if (method === "GET") return { status: 200, body: show(found) };
    if (matches.length > 1)
      return { status: 409, body: { message: "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'" } };
    if (method === "PUT") {
      const problems = check("update variable", body, UPDATE, ["value"]);
      if (problems.length > 0) {
        violations.push(...problems);
        return { status: 400, body: { error: problems.join("; ") } };
      }
      const masked = body.masked === undefined ? found.masked : body.masked === true;
      if (masked && !MASKABLE.test(String(body.value))) return { status: 400, body: { message: { value: ["is invalid"] } } };
      found.value = String(body.value);
      found.masked = masked || found.hidden;
      if (body.variable_type !== undefined) found.variable_type = body.variable_type as StoredVariable["variable_type"];
      if (body.protected !== undefined) found.protected = body.protected === true;
      if (body.raw !== undefined) found.raw = body.raw === true;
      if (body.environment_scope !== undefined) found.environment_scope = String(body.environment_scope);
      if (body.description !== undefined) found.description = body.description as string | null;
      return { status: 200, body: show(found) };
    }
    if (method === "DELETE") {
      if (Object.keys(body).length > 0) violations.push("delete variable: takes no body");
      list.splice(list.indexOf(found), 1);
      return { status: 204 };
    }
    return { status: 405, body: { message: "405 Method Not Allowed" } };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const method = req.method ?? "GET";
      const text = Buffer.concat(chunks).toString("utf8");
      let body: Record<string, unknown> = {};
      if (text !== "") {
        try {
          const parsed = JSON.parse(text) as unknown;
          if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
          else violations.push(`${method} ${url.pathname}: the body is not a JSON object`);
        } catch {
          violations.push(`${method} ${url.pathname}: the body is not JSON`);
        }
      }
      const request: RecordedRequest = { method, path: url.pathname, query: url.search, body: text === "" ? undefined : body };
      requests.push(request);
      const send = (status: number, out?: unknown) => {
        res.writeHead(status, out === undefined ? {} : { "content-type": "application/json" });
        res.end(out === undefined ? undefined : JSON.stringify(out));
      };
      // The path's :id is URL-encoded when it is a full path (acme%2Fdeploy), so it is one segment.
      const m = /^\/api\/v4\/(projects|groups)\/([^/]+)\/variables(?:\/([^/]+))?$/.exec(url.pathname);
      if (!m) {
        violations.push(`${method} ${url.pathname}: not an endpoint of the variables APIs`);
        return send(404, { error: "404 Not Found" });
      }
      if (req.headers["private-token"] !== token) return send(401, { message: "401 Unauthorized" });
      const params = [...url.searchParams.keys()];
      for (const p of params) if (p !== "filter[environment_scope]") violations.push(`${method} ${url.pathname}: unknown query parameter ${p}`);
      if (method === "POST" && m[3] !== undefined) violations.push(`POST ${url.pathname}: create takes no key in the path`);
      const fault = faults.find((f) => f.left > 0 && f.fault.when(request));
      if (fault) {
        fault.left--;
        return send(fault.fault.status, { message: `${fault.fault.status} injected` });
      }
      const answer = handle(
        method,
        `${m[1]}/${m[2]}`,
        m[3] === undefined ? undefined : decodeURIComponent(m[3]),
        url.searchParams.get("filter[environment_scope]") ?? undefined,
        body,
      );
      send(answer.status, answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    variables,
    requests,
    violations,
    addScope: (scope) => {
      if (!variables.has(scope)) variables.set(scope, []);
    },
    variable: (scope, key, environmentScope) =>
      variables.get(scope)?.find((v) => v.key === key && (environmentScope === undefined || v.environment_scope === environmentScope)),
    seed: (scope, v) => {
      variables.get(scope)?.push({
        variable_type: "env_var",
        protected: false,
        masked: false,
        hidden: false,
        raw: false,
        environment_scope: "*",
        description: null,
        ...v,
      });
    },
    inject: (fault) => faults.push({ fault, left: fault.times ?? 1 }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import sodium from "libsodium-wrappers";
import { type MatchedOperation, matchOperation, requestProblems, responseProblems } from "./openapi.js";

/**
 * A local stand-in for api.github.com, on 127.0.0.1, implementing the documented Actions secrets and
 * variables endpoints the store uses, for repositories, environments and organisations. Every
 * request is matched to an operation of GitHub's OpenAPI description and its body checked against
 * the documented schema; every answer is checked too. Each secret arrives as a libsodium sealed box
 * and is opened with the server's private key, so a test sees the plaintext GitHub would hold.
 * Whatever breaks the description is recorded in `violations` (tests assert it stays empty) and
 * answered 422, as GitHub would refuse it.
 */

export interface StoredSecret {
  value: string;
  created_at: string;
  updated_at: string;
  visibility?: "all" | "private" | "selected";
  selected_repository_ids?: number[];
}

export interface StoredVariable {
  value: string;
  created_at: string;
  updated_at: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly operationId: string | undefined;
  readonly body: unknown;
}

/** A fault to inject: the next request for which `when` is true is answered `status` instead. */
export interface Fault {
  readonly when: (request: RecordedRequest) => boolean;
  readonly status: number;
  readonly times?: number;
}

export interface GithubServer {
  readonly url: string;
  readonly token: string;
  /** Secrets by scope path (`/repos/o/r`, `/repos/o/r/environments/e`, `/orgs/o`), then by name. */
  readonly secrets: Map<string, Map<string, StoredSecret>>;
  readonly variables: Map<string, Map<string, StoredVariable>>;
  readonly requests: RecordedRequest[];
  readonly violations: string[];
  /** The plaintext a scope's secret holds, or undefined. */
  secret(scope: string, name: string): string | undefined;
  /** Makes a scope exist (a repository, an environment or an organisation, by its path). */
  addScope(scope: string): void;
  /** Puts a secret in place as if set earlier through the web interface. */
  seed(scope: string, name: string, value: string, org?: Pick<StoredSecret, "visibility" | "selected_repository_ids">): void;
  inject(fault: Fault): void;
  close(): Promise<void>;
}

/** Starts the server. `repositories` are the scopes that exist (others answer 404, like GitHub). */
export async function startGithubServer(options: { token?: string; scopes: string[] }): Promise<GithubServer> {
  await sodium.ready;
  const keys = sodium.crypto_box_keypair();
  const keyId = "568250167242549743";
  const token = options.token ?? "ghp_keyuptestTOKEN0000000000000000000000";
  const scopes = new Set(options.scopes);
  const secrets = new Map<string, Map<string, StoredSecret>>(options.scopes.map((s) => [s, new Map()]));
  const variables = new Map<string, Map<string, StoredVariable>>(options.scopes.map((s) => [s, new Map()]));
  const requests: RecordedRequest[] = [];
  const violations: string[] = [];
  const faults: { fault: Fault; left: number }[] = [];
  let clock = Date.parse("2026-11-30T00:00:00Z");
  // GitHub stamps updated_at to the second; the server's clock moves a second per change, so two
  // changes never share a stamp here (the store's README says what happens when they do on GitHub).
  const now = () => {
    clock += 1000;
    return new Date(clock).toISOString().replace(/\.\d{3}Z$/, "Z");
  };

  const open = (sealed: string): string | undefined => {
    try {
      return Buffer.from(sodium.crypto_box_seal_open(Buffer.from(sealed, "base64"), keys.publicKey, keys.privateKey)).toString("utf8");
    } catch {
      return undefined;
    }
  };

  // The scope a path belongs to, its kind, and what follows `/actions/` in it.
  const scopeOf = (m: MatchedOperation): { scope: string; org: boolean } => {
    const p = m.params;
    const e = encodeURIComponent;
    if (p.environment_name !== undefined) return { scope: `/repos/${e(p.owner ?? "")}/${e(p.repo ?? "")}/environments/${e(p.environment_name)}`, org: false };
    if (p.org !== undefined) return { scope: `/orgs/${e(p.org)}`, org: true };
    return { scope: `/repos/${e(p.owner ?? "")}/${e(p.repo ?? "")}`, org: false };
  };

  const handle = (m: MatchedOperation, body: Record<string, unknown> | undefined): { status: number; body?: unknown } => {
    const { scope, org } = scopeOf(m);
    if (!scopes.has(scope)) return { status: 404, body: { message: "Not Found", documentation_url: "https://docs.github.com/rest" } };
    const s = secrets.get(scope) as Map<string, StoredSecret>;
    const v = variables.get(scope) as Map<string, StoredVariable>;
    // GitHub keeps secret names upper case; variables too.
    const name = (m.params.secret_name ?? m.params.name ?? "").toUpperCase();
    const op = m.operationId.replace(/^actions\//, "").replace(/-(repo|environment|org)-/, "-");
    switch (op) {
      case "get-public-key":
        return { status: 200, body: { key_id: keyId, key: Buffer.from(keys.publicKey).toString("base64") } };
      case "get-secret": {
        const found = s.get(name);
        if (!found) return { status: 404, body: { message: "Not Found" } };
        const meta = { name, created_at: found.created_at, updated_at: found.updated_at };
        return {
          status: 200,
          body: org
            ? { ...meta, visibility: found.visibility, selected_repositories_url: `https://api.github.com${scope}/actions/secrets/${name}/repositories` }
            : meta,
        };
      }
      case "list-selected-repos-for-secret": {
        const found = s.get(name);
        if (!found) return { status: 404, body: { message: "Not Found" } };
        return { status: 200, body: { total_count: 0, repositories: [] } };
      }
      case "create-or-update-secret": {
        const input = body ?? {};
        if (input.key_id !== keyId) return { status: 422, body: { message: "Bad key_id" } };
        const value = open(String(input.encrypted_value));
        if (value === undefined) {
          violations.push(`${m.operationId}: encrypted_value is not a sealed box for the server's public key`);
          return { status: 422, body: { message: "Bad encrypted_value" } };
        }
        const existing = s.get(name);
        const at = now();
        const stored: StoredSecret = { value, created_at: existing?.created_at ?? at, updated_at: at };
        if (org) {
          stored.visibility = input.visibility as StoredSecret["visibility"];
          if (Array.isArray(input.selected_repository_ids)) stored.selected_repository_ids = input.selected_repository_ids as number[];
        }
        s.set(name, stored);
        return { status: existing ? 204 : 201, body: existing ? undefined : {} };
      }
      case "delete-secret":
        if (!s.delete(name)) return { status: 404, body: { message: "Not Found" } };
        return { status: 204 };
      case "create-variable": {
        const vname = String(body?.name ?? "").toUpperCase();
        // Undocumented in the OpenAPI description (it lists 201 only), but what GitHub answers.
        if (v.has(vname)) return { status: 409, body: { message: "Already exists - Variable already exists" } };
        const at = now();
        v.set(vname, { value: String(body?.value ?? ""), created_at: at, updated_at: at });
        return { status: 201, body: {} };
      }
      case "get-variable": {
        const found = v.get(name);
        if (!found) return { status: 404, body: { message: "Not Found" } };
        return { status: 200, body: org ? { name, ...found, visibility: "selected" } : { name, ...found } };
      }
      case "delete-variable":
        if (!v.delete(name)) return { status: 404, body: { message: "Not Found" } };
        return { status: 204 };
      default:
        violations.push(`${m.operationId}: documented, but not implemented by the local server`);
        return { status: 501, body: { message: "not implemented here" } };
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const method = req.method ?? "GET";
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      try {
        body = text === "" ? undefined : JSON.parse(text);
      } catch {
        violations.push(`${method} ${url.pathname}: the body is not JSON`);
      }
      const matched = matchOperation(method, url.pathname);
      const request: RecordedRequest = { method, path: url.pathname, operationId: matched?.operationId, body };
      requests.push(request);
      const send = (status: number, out?: unknown) => {
        if (matched && status < 300)
          for (const p of responseProblems(matched, status, out)) violations.push(`the server's answer to ${matched.operationId}: ${p}`);
        res.writeHead(status, out === undefined ? {} : { "content-type": "application/json; charset=utf-8" });
        res.end(out === undefined ? undefined : JSON.stringify(out));
      };
      if (!matched) {
        violations.push(`${method} ${url.pathname}: no such operation in GitHub's OpenAPI description`);
        return send(404, { message: "Not Found" });
      }
      const auth = req.headers.authorization ?? "";
      if (auth !== `token ${token}` && auth !== `Bearer ${token}`) return send(401, { message: "Bad credentials" });
      const problems = requestProblems(matched, body);
      if (problems.length > 0) {
        violations.push(...problems.map((p) => `${matched.operationId}: ${p}`));
        return send(422, { message: "Invalid request", errors: problems });
      }
      const fault = faults.find((f) => f.left > 0 && f.fault.when(request));
      if (fault) {
        fault.left--;
        return send(fault.fault.status, { message: "injected fault" });
      }
      const answer = handle(matched, body as Record<string, unknown> | undefined);
      send(answer.status, answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    secrets,
    variables,
    requests,
    violations,
    secret: (scope, name) => secrets.get(scope)?.get(name.toUpperCase())?.value,
    inject: (fault) => faults.push({ fault, left: fault.times ?? 1 }),
    addScope: (scope) => {
      scopes.add(scope);
      if (!secrets.has(scope)) secrets.set(scope, new Map());
      if (!variables.has(scope)) variables.set(scope, new Map());
    },
    seed: (scope, name, value, org) => {
      const at = now();
      secrets.get(scope)?.set(name.toUpperCase(), { value, created_at: at, updated_at: at, ...org });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

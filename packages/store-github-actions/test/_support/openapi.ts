import { createRequire } from "node:module";

/**
 * GitHub's own OpenAPI description of its REST API (`@octokit/openapi`, api.github.com), and a
 * checker for the part of JSON Schema its request and response bodies use: types, required members,
 * enums, patterns, arrays and (where declared) no extra members. The local GitHub server runs every
 * request and every answer it gives through it, so the store is held to the documented API.
 */

interface Schema {
  $ref?: string;
  type?: string | string[];
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: unknown[];
  pattern?: string;
  nullable?: boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
}

interface Operation {
  operationId: string;
  requestBody?: { required?: boolean; content?: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }>; $ref?: string }>;
}

interface Description {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, unknown> };
}

const description = createRequire(import.meta.url)("@octokit/openapi/generated/api.github.com.json") as Description;

interface Route {
  readonly template: string;
  readonly method: string;
  readonly pattern: RegExp;
  readonly params: string[];
  readonly operation: Operation;
}

const routes: Route[] = Object.entries(description.paths).flatMap(([template, ops]) =>
  Object.entries(ops)
    .filter(([method]) => ["get", "put", "post", "patch", "delete"].includes(method))
    .map(([method, operation]) => {
      const params: string[] = [];
      const source = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_, name: string) => {
        params.push(name);
        return "([^/]+)";
      });
      return { template, method: method.toUpperCase(), pattern: new RegExp(`^${source}$`), params, operation };
    }),
);

/** A documented operation matched by method and path, with its path parameters decoded. */
export interface MatchedOperation {
  readonly operationId: string;
  readonly template: string;
  readonly params: Record<string, string>;
  readonly operation: Operation;
}

/** The documented operation for `method path`, literal segments winning over parameters, or undefined. */
export function matchOperation(method: string, path: string): MatchedOperation | undefined {
  const found = routes.filter((r) => r.method === method && r.pattern.test(path)).sort((a, b) => a.params.length - b.params.length)[0];
  if (!found) return undefined;
  const values = found.pattern.exec(path)?.slice(1) ?? [];
  return {
    operationId: found.operation.operationId,
    template: found.template,
    params: Object.fromEntries(found.params.map((p, i) => [p, decodeURIComponent(values[i] ?? "")])),
    operation: found.operation,
  };
}

function resolve(schema: Schema): Schema {
  let current = schema;
  while (current.$ref) {
    const name = current.$ref.replace("#/components/schemas/", "");
    const next = description.components.schemas[name];
    if (!next) throw new Error(`unresolvable $ref ${current.$ref}`);
    current = next;
  }
  return current;
}

/** Every way `value` breaks `schema`, as `at: problem` lines (empty when it conforms). */
export function schemaProblems(value: unknown, schema: Schema, at = "body", strict = true): string[] {
  const s = resolve(schema);
  if (value === null && s.nullable) return [];
  for (const group of [s.anyOf, s.oneOf]) {
    if (group && !group.some((option) => schemaProblems(value, option, at, strict).length === 0)) return [`${at}: matches none of its alternatives`];
  }
  const problems = (s.allOf ?? []).flatMap((part) => schemaProblems(value, part, at, strict));
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  const typeOf = Array.isArray(value) ? "array" : value === null ? "null" : Number.isInteger(value) ? "integer" : typeof value;
  if (types.length > 0 && !types.includes(typeOf) && !(typeOf === "integer" && types.includes("number"))) {
    return [...problems, `${at}: is ${typeOf}, documented as ${types.join(" or ")}`];
  }
  if (s.enum && !s.enum.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (s.pattern && typeof value === "string" && !new RegExp(s.pattern).test(value)) problems.push(`${at}: does not match ${s.pattern}`);
  if (Array.isArray(value) && s.items) {
    for (const [i, item] of value.entries()) problems.push(...schemaProblems(item, s.items, `${at}[${i}]`, strict));
  }
  if (typeOf === "object") {
    const record = value as Record<string, unknown>;
    for (const member of s.required ?? []) if (!(member in record)) problems.push(`${at}: required member ${member} is missing`);
    for (const [member, child] of Object.entries(record)) {
      const declared = s.properties?.[member];
      if (declared) problems.push(...schemaProblems(child, declared, `${at}.${member}`, strict));
      // A request body lists every member GitHub accepts: anything else is a mistake of ours.
      else if (s.additionalProperties === false || (strict && s.properties !== undefined && s.additionalProperties === undefined)) {
        problems.push(`${at}: member ${member} is not documented`);
      }
    }
  }
  return problems;
}

/** What is wrong with a request body for `matched` (missing body, or schema problems). */
export function requestProblems(matched: MatchedOperation, body: unknown): string[] {
  const spec = matched.operation.requestBody;
  const schema = spec?.content?.["application/json"]?.schema;
  if (!schema) return body === undefined ? [] : [`${matched.operationId} takes no request body`];
  if (body === undefined) return spec?.required ? [`${matched.operationId} needs a request body`] : [];
  return schemaProblems(body, schema);
}

/** What is wrong with an answer the server gives for `matched` (an undocumented status, or schema problems). */
export function responseProblems(matched: MatchedOperation, status: number, body: unknown): string[] {
  const response = matched.operation.responses[String(status)];
  if (!response) return [`${matched.operationId} does not document status ${status}`];
  const schema = response.content?.["application/json"]?.schema;
  if (!schema || body === undefined) return [];
  return schemaProblems(body, schema, "response", false);
}

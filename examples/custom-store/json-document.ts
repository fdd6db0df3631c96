import { isDeepStrictEqual } from "node:util";
import { type AccessKeyPair, createStoreError } from "@keyup/core";
// jsonc-parser ships a UMD build as `main`: a default import works from Node's ESM loader, named ones do not.
import jsonc from "jsonc-parser";

/**
 * The two fields, inside the object a pointer names, that hold the key.
 *
 * @example
 * ```ts
 * // { "aws": { "deploy": { "accessKeyId": "AKIA…", "secretAccessKey": "…", "region": "eu-west-1" } } }
 * const field: KeyField = "accessKeyId";
 * ```
 */
export type KeyField = "accessKeyId" | "secretAccessKey";

const FIELDS: readonly KeyField[] = ["accessKeyId", "secretAccessKey"];

/**
 * Splits an RFC 6901 JSON Pointer (`""` for the top-level object, `"/aws/deploy"`, `"/a~1b"` for the
 * member `a/b`) into member names. Only object members are addressed: the key lives in an object.
 *
 * @throws A store error `EINVALID` for anything that is not such a pointer.
 *
 * @example
 * ```ts
 * parseJsonPointer("/aws/deploy"); // ["aws", "deploy"]
 * parseJsonPointer("/paths/a~1b"); // ["paths", "a/b"]
 * ```
 */
export function parseJsonPointer(pointer: string): string[] {
  if (typeof pointer !== "string" || (pointer !== "" && !pointer.startsWith("/"))) {
    throw createStoreError("EINVALID", `the pointer must be "" or start with "/" (a JSON Pointer such as "/aws/deploy")`);
  }
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((raw) => {
      if (/~(?![01])/.test(raw)) throw createStoreError("EINVALID", `the pointer ${JSON.stringify(pointer)} has a "~" that is not "~0" or "~1"`);
      const segment = raw.replaceAll("~1", "/").replaceAll("~0", "~");
      // "" cannot name a sidecar file; "__proto__" would walk into Object.prototype instead of the document.
      if (segment === "" || segment === "__proto__") {
        throw createStoreError("EINVALID", `the pointer ${JSON.stringify(pointer)} names a member this store does not support ("" or "__proto__")`);
      }
      return segment;
    });
}

/**
 * Parses `text` as strict JSON (no comments, no trailing commas).
 *
 * @param where - Names the file in the error, for example the store's name.
 * @throws A store error `EINVALID` when `text` is not JSON. The parser's own message is left out on
 *   purpose: V8 quotes the text around the fault, and that text may be a secret.
 *
 * @example
 * ```ts
 * const document = parseJsonText('{"aws":{}}', "json:/srv/app/config.json#/aws");
 * ```
 */
export function parseJsonText(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw createStoreError("EINVALID", `${where}: the file is not valid JSON (comments and trailing commas are not JSON)`);
  }
}

/**
 * The key held in the object at `path` of a parsed document, or `undefined` when that object, or
 * both of its key fields, are absent.
 *
 * @throws A store error `EINVALID` when something on the path is not an object, when one field is
 *   there without the other, or when a field is not a string. Messages name fields, never values.
 *
 * @example
 * ```ts
 * keyAt({ aws: { deploy: { accessKeyId: "AKIA…", secretAccessKey: "…" } } }, ["aws", "deploy"], "config.json"); // the pair
 * keyAt({ aws: {} }, ["aws", "deploy"], "config.json"); // undefined
 * ```
 */
export function keyAt(document: unknown, path: readonly string[], where: string): AccessKeyPair | undefined {
  let node: unknown = document;
  for (let depth = 0; depth <= path.length; depth++) {
    if (!isObject(node)) {
      throw createStoreError("EINVALID", `${where}: ${describePath(path.slice(0, depth))} is not a JSON object`);
    }
    const segment = path[depth];
    if (segment === undefined) break;
    if (!Object.hasOwn(node, segment)) return undefined;
    node = node[segment];
  }
  const holder = node as Record<string, unknown>;
  const present = FIELDS.filter((field) => Object.hasOwn(holder, field));
  if (present.length === 0) return undefined;
  const [only] = present;
  if (present.length === 1 && only) {
    const missing = FIELDS.find((field) => field !== only);
    throw createStoreError("EINVALID", `${where}: ${describePath(path)} has "${only}" but no "${missing}"`);
  }
  const { accessKeyId, secretAccessKey } = holder;
  for (const [field, value] of [
    ["accessKeyId", accessKeyId],
    ["secretAccessKey", secretAccessKey],
  ] as const) {
    if (typeof value !== "string") throw createStoreError("EINVALID", `${where}: "${field}" at ${describePath(path)} is not a string`);
  }
  return { accessKeyId: accessKeyId as string, secretAccessKey: secretAccessKey as string };
}

/**
 * `text` with the key at `path` set to `key`, changing only the bytes of the two values (or, when
 * the fields are new, inserting them in the file's own indentation and line endings). Every other
 * byte, including number spellings and member order that a `JSON.parse`/`JSON.stringify` round trip
 * would lose, stays as it was.
 *
 * @throws A store error `EINVALID` when the edit would change anything but the key (for example a
 *   document with the same member twice, where JSON readers disagree on which one counts).
 *
 * @example
 * ```ts
 * const next = withKey(text, ["aws", "deploy"], { accessKeyId, secretAccessKey }, "config.json");
 * ```
 */
export function withKey(text: string, path: readonly string[], key: AccessKeyPair, where: string): string {
  const formattingOptions = formattingOf(text);
  let next = text;
  for (const field of FIELDS) {
    next = jsonc.applyEdits(next, jsonc.modify(next, [...path, field], key[field], { formattingOptions }));
  }
  // Proves the edit against JSON.parse, the reader most consumers of the file use: the result must be
  // the original document with exactly the two fields set.
  const expected = parseJsonText(text, where);
  let holder: unknown = expected;
  for (const segment of path) {
    const parent = holder as Record<string, unknown>;
    if (!Object.hasOwn(parent, segment)) parent[segment] = {};
    holder = parent[segment];
  }
  Object.assign(holder as Record<string, unknown>, { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
  if (!isDeepStrictEqual(parseJsonText(next, where), expected)) {
    throw createStoreError("EINVALID", `${where}: cannot set the key at ${describePath(path)} without changing other content (is a member duplicated?)`);
  }
  return next;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describePath(path: readonly string[]): string {
  return path.length === 0 ? "the top-level value" : `"/${path.map((s) => s.replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}"`;
}

/** New members are indented like the file's first indented line, with its line ending. */
function formattingOf(text: string): { insertSpaces: boolean; tabSize: number; eol: string } {
  const indent = /^([ \t]+)\S/m.exec(text)?.[1];
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  if (indent?.startsWith("\t")) return { insertSpaces: false, tabSize: 1, eol };
  return { insertSpaces: true, tabSize: indent?.length ?? 2, eol };
}

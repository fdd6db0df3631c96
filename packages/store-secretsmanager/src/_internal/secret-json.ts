import { type AccessKeyPair, createStoreError, isAccessKeyPair } from "@keyup/core";
import { applyEdits, modify, parseTree } from "jsonc-parser";

/** The two JSON field names a secret keeps its key under, resolved from the options. */
export interface ResolvedFields {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The usual spellings of an access key id or secret field: `aws_access_key_id`, `AccessKeyId`, `secretAccessKey`, … */
const ID_FIELD = /^(aws[_-]?)?access[_-]?key[_-]?id$/i;
const SECRET_FIELD = /^(aws[_-]?)?secret[_-]?access[_-]?key$/i;

/** A field under a usual key spelling whose value looks like a key id or a secret (not a note that happens to use the name). */
function holdsKeyPart(name: string, value: unknown): boolean {
  if (typeof value !== "string") return false;
  if (ID_FIELD.test(name)) return /^[A-Z0-9]{16,128}$/.test(value);
  return SECRET_FIELD.test(name) && value.length >= 16 && !/\s/.test(value);
}

/** What a secret's JSON holds: no key at all (an empty store), or one key. */
export type HeldContent = { readonly kind: "empty" } | { readonly kind: "key"; readonly key: AccessKeyPair };

/**
 * Reads the key out of a secret's JSON text. `where` names the secret (and version) in messages,
 * which never quote a value: a malformed secret may still contain a real key.
 */
export function parseHeld(text: string, fields: ResolvedFields, where: string): HeldContent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw createStoreError("EINVALID", `${where} is not JSON: keyup expects a JSON object holding "${fields.accessKeyId}" and "${fields.secretAccessKey}"`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw createStoreError("EINVALID", `${where} is JSON but not an object: keyup expects {"${fields.accessKeyId}": …, "${fields.secretAccessKey}": …}`);
  }
  // JSON.parse keeps the last of duplicate names silently; a reader such as the AWS SDK might keep
  // another one, so a duplicated key field is ambiguous and refused.
  const names = (parseTree(text)?.children ?? []).map((member) => member.children?.[0]?.value as unknown);
  for (const field of [fields.accessKeyId, fields.secretAccessKey]) {
    if (names.filter((name) => name === field).length > 1) {
      throw createStoreError("EINVALID", `${where} has "${field}" more than once: remove the duplicates`);
    }
  }
  const object = value as Record<string, unknown>;
  // The key under names keyup would not update (`aws_access_key_id`, `AWS_ACCESS_KEY_ID`,
  // `accessKeyId`, …): writing its own fields beside them would lock out whoever reads those.
  const elsewhere = Object.keys(object).filter((name) => !Object.values(fields).includes(name) && holdsKeyPart(name, object[name]));
  if (elsewhere.length > 0) {
    throw createStoreError(
      "EUNSUPPORTED",
      `${where} holds key fields keyup would not update (${elsewhere.map((n) => `"${n}"`).join(", ")}), beside "${fields.accessKeyId}" / "${fields.secretAccessKey}": name the fields the secret's readers use (the store's fields option), or remove the others`,
    );
  }
  const hasId = Object.hasOwn(object, fields.accessKeyId);
  const hasSecret = Object.hasOwn(object, fields.secretAccessKey);
  if (!hasId && !hasSecret) return { kind: "empty" };
  if (!hasId || !hasSecret) {
    const [present, missing] = hasId ? [fields.accessKeyId, fields.secretAccessKey] : [fields.secretAccessKey, fields.accessKeyId];
    throw createStoreError("EINVALID", `${where} has "${present}" but no "${missing}": a key needs both`);
  }
  const key = { accessKeyId: object[fields.accessKeyId], secretAccessKey: object[fields.secretAccessKey] };
  if (!isAccessKeyPair(key)) {
    throw createStoreError(
      "EINVALID",
      `${where} does not hold a usable access key pair in "${fields.accessKeyId}" / "${fields.secretAccessKey}" (they must be strings: an id of 16–128 capital letters and digits, and a secret key)`,
    );
  }
  if (key.accessKeyId.startsWith("ASIA")) {
    throw createStoreError("EUNSUPPORTED", `${where} holds temporary credentials (${key.accessKeyId}): only an IAM user's long-term key can be rotated`);
  }
  return { kind: "key", key: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } };
}

/**
 * The secret's JSON text with `key` in its two fields. Only those two values change (or are appended):
 * every other byte, including numbers JSON.parse would round, stays as it was.
 */
export function withKey(text: string, fields: ResolvedFields, key: AccessKeyPair): string {
  let next = text;
  next = applyEdits(next, modify(next, [fields.accessKeyId], key.accessKeyId, {}));
  next = applyEdits(next, modify(next, [fields.secretAccessKey], key.secretAccessKey, {}));
  return next;
}

/** Field names the options give, checked: two distinct, non-empty names. */
export function resolveFields(fields: { accessKeyId?: string; secretAccessKey?: string } | undefined): ResolvedFields {
  const resolved = { accessKeyId: fields?.accessKeyId ?? "AccessKeyId", secretAccessKey: fields?.secretAccessKey ?? "SecretAccessKey" };
  for (const [option, name] of Object.entries(resolved)) {
    if (typeof name !== "string" || name === "" || name.length > 256) {
      throw createStoreError("EINVALID", `fields.${option} must be a non-empty JSON field name (at most 256 characters)`);
    }
  }
  if (resolved.accessKeyId === resolved.secretAccessKey) {
    throw createStoreError("EINVALID", `fields.accessKeyId and fields.secretAccessKey must differ, both are "${resolved.accessKeyId}"`);
  }
  return resolved;
}

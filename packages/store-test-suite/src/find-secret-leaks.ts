import { inspect } from "node:util";

const MIN_PIECE = 12;

/**
 * The forms a secret can leak in: verbatim, JSON-escaped, and every 12-character window of its
 * alphanumeric runs (a store that truncates, escapes or splits a secret on a bad character still
 * leaks those). Twelve random alphanumerics never turn up by chance.
 */
function needles(secret: string): string[] {
  const forms = new Set<string>([secret, JSON.stringify(secret).slice(1, -1)]);
  for (const run of secret.split(/[^A-Za-z0-9]+/)) {
    for (let i = 0; i + MIN_PIECE <= run.length; i++) forms.add(run.slice(i, i + MIN_PIECE));
  }
  return [...forms].filter((form) => form.length > 0);
}

/** Every string a value exposes when printed, logged or serialised, with where it was found. */
function texts(value: unknown): { where: string; text: string }[] {
  const out: { where: string; text: string }[] = [];
  const seen = new WeakSet<object>();
  const visit = (node: unknown, where: string, depth: number): void => {
    if (typeof node === "string") {
      out.push({ where, text: node });
      return;
    }
    if (typeof node !== "object" || node === null || depth > 8 || seen.has(node)) return;
    seen.add(node);
    for (const key of Object.getOwnPropertyNames(node)) {
      let child: unknown;
      try {
        child = (node as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      visit(child, `${where}.${key}`, depth + 1);
    }
  };
  visit(value, "value", 0);
  out.push({ where: "inspect(value)", text: inspect(value, { depth: 10, showHidden: true }) });
  try {
    out.push({ where: "JSON.stringify(value)", text: JSON.stringify(value) ?? "" });
  } catch {
    // Not serialisable: the walk above already saw every string it holds.
  }
  out.push({ where: "String(value)", text: String(value) });
  return out;
}

/**
 * Where any of `secrets` shows up in `value`: an error with its cause chain and every own property,
 * a backup handle, a name. Looks at what printing, logging (`util.inspect`) and `JSON.stringify`
 * would show, for each secret verbatim, JSON-escaped, and as its long alphanumeric runs. Reports
 * locations only, so a failing assertion does not print the secret it found.
 *
 * @example
 * ```ts
 * const error = await store.write(badKey).catch((e: unknown) => e);
 * expect(findSecretLeaks(error, [badKey.secretAccessKey])).toEqual([]);
 * ```
 */
export function findSecretLeaks(value: unknown, secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const [index, secret] of secrets.entries()) {
    const forms = needles(secret);
    for (const { where, text } of texts(value)) {
      if (forms.some((form) => text.includes(form))) found.push(`secret #${index + 1} in ${where}`);
    }
  }
  return found;
}

import type { AccessKeyInfo } from "@keyup/core";

/**
 * A duration as people read it: `45s`, `12m`, `5h 3m`, `12d 4h`.
 *
 * @example
 * ```ts
 * formatAge(90_061_000); // "1d 1h"
 * ```
 */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

/**
 * The `list` table: one row per key with id, age, status and last use; the key the profile holds is marked.
 *
 * @example
 * ```ts
 * console.log(formatKeyTable(keys));
 * ```
 */
export function formatKeyTable(keys: readonly AccessKeyInfo[], now: Date = new Date()): string {
  const header = ["ACCESS KEY ID", "AGE", "STATUS", "LAST USED", "SERVICE", "DESCRIPTION", ""];
  const rows = keys.map((k) => [
    k.accessKeyId,
    k.ageMs === undefined ? "-" : formatAge(k.ageMs),
    k.status,
    k.lastUsed?.date ? k.lastUsed.date.toISOString().replace(/\.\d{3}Z$/, "Z") : "never",
    k.lastUsed?.serviceName ?? "-",
    k.description ?? (k.keepUntil ? graceNote(k.keepUntil, now) : "-"),
    k.inStore ? "(in profile)" : "",
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** A grace deadline as it reads on the day: still running, or over (cleanup or the next rotation deletes the key). */
function graceNote(until: Date, now: Date): string {
  const day = until.toISOString().slice(0, 10);
  return until.getTime() > now.getTime() ? `kept until ${day}` : `grace period ended ${day}`;
}

/**
 * Keys as JSON-friendly objects (dates as ISO strings, age in seconds), for `--output json`.
 *
 * @example
 * ```ts
 * console.log(JSON.stringify(keysToJson(keys), null, 2));
 * ```
 */
export function keysToJson(keys: readonly AccessKeyInfo[]): object[] {
  return keys.map((k) => ({
    accessKeyId: k.accessKeyId,
    status: k.status,
    createdAt: k.createdAt?.toISOString() ?? null,
    ageSeconds: k.ageMs === undefined ? null : Math.floor(k.ageMs / 1000),
    lastUsed: k.lastUsed
      ? { date: k.lastUsed.date?.toISOString() ?? null, serviceName: k.lastUsed.serviceName ?? null, region: k.lastUsed.region ?? null }
      : null,
    description: k.description ?? null,
    keepUntil: k.keepUntil?.toISOString() ?? null,
    inStore: k.inStore,
  }));
}

/**
 * Tab-separated lines as the AWS CLI's `--output text` prints them: one record a line, a record
 * type first, missing values as `None`, no header, so `cut -f` and `awk` can read them.
 *
 * @example
 * ```ts
 * textLines([["KEY", "AKIA…", "Active", null]]); // "KEY\tAKIA…\tActive\tNone\n"
 * ```
 */
export function textLines(records: readonly (readonly (string | number | boolean | null | undefined)[])[]): string {
  // A tab or newline inside a value would split the record: AWS's text output has the same limit.
  const cell = (v: string | number | boolean | null | undefined) => (v === null || v === undefined ? "None" : String(v).replace(/[\t\r\n]+/g, " "));
  return records.map((r) => `${r.map(cell).join("\t")}\n`).join("");
}

/**
 * The `list` records for `--output text`: `KEYS`, id, status, created, age in seconds, last used,
 * service, description, grace deadline, and whether the store holds it.
 *
 * @example
 * ```ts
 * process.stdout.write(keysToText(keys));
 * ```
 */
export function keysToText(keys: readonly AccessKeyInfo[], profile?: string): string {
  return textLines(
    keys.map((k) => [
      "KEYS",
      ...(profile !== undefined ? [profile] : []),
      k.accessKeyId,
      k.status,
      k.createdAt?.toISOString(),
      k.ageMs === undefined ? undefined : Math.floor(k.ageMs / 1000),
      k.lastUsed?.date?.toISOString(),
      k.lastUsed?.serviceName,
      k.description,
      k.keepUntil?.toISOString(),
      k.inStore,
    ]),
  );
}

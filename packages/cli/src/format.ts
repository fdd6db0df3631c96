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
export function formatKeyTable(keys: readonly AccessKeyInfo[]): string {
  const header = ["ACCESS KEY ID", "AGE", "STATUS", "LAST USED", "SERVICE", "DESCRIPTION", ""];
  const rows = keys.map((k) => [
    k.accessKeyId,
    k.ageMs === undefined ? "-" : formatAge(k.ageMs),
    k.status,
    k.lastUsed?.date ? k.lastUsed.date.toISOString().replace(/\.\d{3}Z$/, "Z") : "never",
    k.lastUsed?.serviceName ?? "-",
    k.description ?? (k.keepUntil ? `kept until ${k.keepUntil.toISOString().slice(0, 10)}` : "-"),
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

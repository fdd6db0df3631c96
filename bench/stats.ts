/**
 * The median of `values` (the mean of the two middle values for an even count).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Milliseconds as people read them: `840 ms`, `3.21 s`.
 *
 * @example
 * ```ts
 * formatMs(3210); // "3.21 s"
 * ```
 */
export function formatMs(ms: number): string {
  if (Math.abs(ms) < 1) return `${ms.toFixed(2)} ms`;
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/**
 * A byte count as people read it: `912 B`, `1.4 KiB`, `2.31 MiB`.
 *
 * @example
 * ```ts
 * formatBytes(1536); // "1.5 KiB"
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

/**
 * A small seeded pseudo-random generator (mulberry32), so that "5 % of requests throttled" throttles
 * the same requests in every run and runs compare.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * random(); // a number in [0, 1), the same on every machine
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * How many bytes differ between two versions of a file: the length of the changed region between
 * their common prefix and common suffix, in the larger of the two.
 *
 * @example
 * ```ts
 * changedBytes(Buffer.from("a=1\nb=2\n"), Buffer.from("a=1\nb=3\n")); // 1
 * ```
 */
export function changedBytes(before: Uint8Array, after: Uint8Array): number {
  let prefix = 0;
  const shorter = Math.min(before.length, after.length);
  while (prefix < shorter && before[prefix] === after[prefix]) prefix++;
  let suffix = 0;
  while (suffix < shorter - prefix && before[before.length - 1 - suffix] === after[after.length - 1 - suffix]) suffix++;
  return Math.max(before.length, after.length) - prefix - suffix;
}

/**
 * How many bytes differ position by position (for edits that keep the length, such as swapping one
 * access key for another), plus the difference in length.
 *
 * @example
 * ```ts
 * differingBytes(Buffer.from("AKIA1 x AKIA2"), Buffer.from("AKIA3 x AKIA4")); // 2
 * ```
 */
export function differingBytes(before: Uint8Array, after: Uint8Array): number {
  let count = Math.abs(before.length - after.length);
  const shorter = Math.min(before.length, after.length);
  for (let i = 0; i < shorter; i++) if (before[i] !== after[i]) count++;
  return count;
}

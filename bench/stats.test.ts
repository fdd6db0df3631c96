import { describe, expect, test } from "vitest";
import { changedBytes, differingBytes, formatBytes, formatMs, median, seededRandom } from "./stats.js";

describe("median", () => {
  test("odd and even counts, unsorted input left as it was", () => {
    const values = [5, 1, 3];
    expect(median(values)).toBe(3);
    expect(values).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  test("no values is an error, not NaN", () => {
    expect(() => median([])).toThrow("median of no values");
  });
});

test("formatMs and formatBytes choose the unit people read", () => {
  expect(formatMs(0.25)).toBe("0.25 ms");
  expect(formatMs(840.4)).toBe("840 ms");
  expect(formatMs(3210)).toBe("3.21 s");
  expect(formatBytes(912)).toBe("912 B");
  expect(formatBytes(1536)).toBe("1.5 KiB");
  expect(formatBytes(3 * 1024 * 1024)).toBe("3.00 MiB");
});

test("seededRandom repeats its sequence for a seed and differs between seeds", () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const c = seededRandom(8);
  const first = Array.from({ length: 100 }, () => a());
  expect(Array.from({ length: 100 }, () => b())).toEqual(first);
  expect(Array.from({ length: 100 }, () => c())).not.toEqual(first);
  expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
  // Roughly uniform: a 5 % threshold hits about 5 % of 10,000 draws.
  const d = seededRandom(1);
  const hits = Array.from({ length: 10_000 }, () => d()).filter((x) => x < 0.05).length;
  expect(hits).toBeGreaterThan(400);
  expect(hits).toBeLessThan(600);
});

describe("changed bytes", () => {
  const before = Buffer.from("[a]\nid = AKIAOLD1\nsecret = old-secret\n[b]\nid = AKIAKEEP\n");
  const after = Buffer.from("[a]\nid = AKIANEW2\nsecret = new-secret\n[b]\nid = AKIAKEEP\n");
  test("differingBytes counts positions whose byte changed", () => {
    expect(differingBytes(before, after)).toBe(4 + 3);
    expect(differingBytes(before, before)).toBe(0);
    expect(differingBytes(Buffer.from("abc"), Buffer.from("abcde"))).toBe(2);
  });
  test("changedBytes is the region between the common prefix and suffix", () => {
    // From the first changed byte of the id to the last changed byte of the secret.
    expect(changedBytes(before, after)).toBe("OLD1\nsecret = old".length);
    expect(changedBytes(before, before)).toBe(0);
    expect(changedBytes(Buffer.from("abc"), Buffer.from("c"))).toBe(2);
  });
});

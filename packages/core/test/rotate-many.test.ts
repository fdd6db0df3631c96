import { type CredentialStore, createStoreError, type FleetReport, type FleetResult, formatFleetTable, memoryStore, rotateMany } from "@keyup/core";
import { describe, expect, test } from "vitest";
import { captureValue } from "../../../test-support/secrets.js";

// Nothing listens here: a test that reached AWS would fail with a network error, not pass.
const nowhere = "http://127.0.0.1:9";
const key = (id: string, secret: string) => ({ accessKeyId: id, secretAccessKey: secret });
const SECRET_A = "unitSecretAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const SECRET_B = "unitSecretBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

/** True when nobody holds the store's lock (memoryStore's lock refuses a second holder). */
async function unlocked(store: CredentialStore): Promise<boolean> {
  try {
    await (await store.lock()).release();
    return true;
  } catch {
    return false;
  }
}

describe("rotateMany() refuses options that are wrong for the whole fleet, touching nothing", () => {
  const store = memoryStore({ name: "memory:one", initial: key("AKIAUNITUNITUNIT0001", SECRET_A) });
  const cases: [string, unknown, RegExp][] = [
    ["no options", undefined, /needs options with stores/],
    ["store instead of stores", { store }, /takes stores .* not store/],
    ["stores not an array", { stores: store }, /stores must be an array/],
    [
      "a non-store in the list",
      { stores: [store, { name: "half" }] },
      /^stores\[1\]: store half is not a CredentialStore: missing read, backup, write, restore, lock\(\)/,
    ],
    ["the same store twice", { stores: [store, memoryStore({ name: "memory:one" })] }, /^stores\[1\]: memory:one is in the list twice/],
    ["concurrency 0", { stores: [store], concurrency: 0 }, /concurrency must be a whole number of at least 1, got 0/],
    ["fractional concurrency", { stores: [store], concurrency: 2.5 }, /got 2\.5/],
    ["onResult not a function", { stores: [store], onResult: "log" }, /onResult must be a function/],
    ["onEvent not a function", { stores: [store], onEvent: 1 }, /onEvent must be a function/],
    [
      "a journal object",
      { stores: [store], journal: { load: async () => undefined, save: async () => undefined, clear: async () => undefined } },
      /journal may only be false/,
    ],
    ["a bad endpoint", { stores: [store], endpoint: "127.0.0.1:5000" }, /is not an http\(s\) URL/],
    ["a bad region", { stores: [store], region: "mars" }, /is not an AWS region name/],
    ["a bad userName", { stores: [store], userName: "no spaces allowed" }, /is not a valid IAM user name/],
  ];
  test.each(cases)("%s", async (_label, options, message) => {
    const result = await rotateMany(options as Parameters<typeof rotateMany>[0]);
    expect(result.isErr()).toBe(true);
    const error = result._unsafeUnwrapErr();
    expect(error.kind).toBe("config");
    expect(error.message).toMatch(message);
    expect(store.current()).toEqual(key("AKIAUNITUNITUNIT0001", SECRET_A));
    expect(await unlocked(store)).toBe(true);
  });
});

describe("rotateMany() keeps each store's failure to itself", () => {
  test("a throwing lock, a throwing read, an empty store, a faulty onResult: each fails alone, every lock is released", async () => {
    const lockThrows: CredentialStore = {
      ...memoryStore({ name: "memory:lock-throws", initial: key("AKIAUNITUNITUNIT0002", SECRET_A) }),
      lock: () => {
        throw new TypeError("lock exploded synchronously");
      },
    };
    const readFails: CredentialStore = {
      ...memoryStore({ name: "memory:read-fails" }),
      read: async () => {
        throw createStoreError("EIO", "the medium is gone");
      },
    };
    const empty = memoryStore({ name: "memory:empty" });
    const seen: string[] = [];

    const result = await rotateMany({
      stores: [lockThrows, readFails, empty],
      endpoint: nowhere,
      onResult: (r) => {
        seen.push(r.store);
        throw new Error("a faulty callback");
      },
    });
    captureValue("fleet", result.isOk() ? result.value : result.error);

    const report = result._unsafeUnwrap();
    expect(report.results.map((r) => [r.store, r.outcome, r.error?.kind])).toEqual([
      ["memory:lock-throws", "failed", "store"],
      ["memory:read-fails", "failed", "store"],
      ["memory:empty", "failed", "config"],
    ]);
    expect(report.results[0]?.error?.message).toBe("lock exploded synchronously");
    expect(report.results[1]?.error?.message).toContain("the medium is gone");
    expect(report.results[2]?.error?.message).toContain("memory:empty holds no access key");
    expect([report.rotated, report.warnings, report.skipped, report.failed]).toEqual([0, 0, 0, 3]);
    expect(seen.sort()).toEqual(["memory:empty", "memory:lock-throws", "memory:read-fails"]);
    expect(await unlocked(readFails)).toBe(true);
    expect(await unlocked(empty)).toBe(true);
  });

  test("stores holding the same key id with different secrets are one group that fails as a whole, naming neither secret", async () => {
    const a = memoryStore({ name: "memory:a", initial: key("AKIAUNITUNITUNIT0003", SECRET_A) });
    const b = memoryStore({ name: "memory:b", initial: key("AKIAUNITUNITUNIT0003", SECRET_B) });

    const result = await rotateMany({ stores: [b, a], endpoint: nowhere });
    captureValue("fleet", result.isOk() ? result.value : result.error);

    const [rb, ra] = result._unsafeUnwrap().results as [FleetResult, FleetResult];
    expect([rb.sharedWith, ra.sharedWith]).toEqual([["memory:a"], ["memory:b"]]);
    expect(rb.error).toEqual(ra.error);
    expect(ra.error?.message).toContain("hold the same key id AKIAUNITUNITUNIT0003 with different secrets");
    expect(JSON.stringify(result)).not.toContain(SECRET_A);
    expect(JSON.stringify(result)).not.toContain(SECRET_B);
    expect(a.current()?.secretAccessKey).toBe(SECRET_A);
    expect(b.current()?.secretAccessKey).toBe(SECRET_B);
  });

  test("an aborted fleet starts nothing: every store fails as aborted, and its lock is released", async () => {
    const stores = [1, 2, 3].map((i) => memoryStore({ name: `memory:${i}`, initial: key(`AKIAUNITUNITUNIT000${i}`, SECRET_A) }));
    const controller = new AbortController();
    controller.abort();

    const result = await rotateMany({ stores, endpoint: nowhere, signal: controller.signal });

    const report = result._unsafeUnwrap();
    expect(report.results.map((r) => [r.outcome, r.error?.kind])).toEqual(Array(3).fill(["failed", "aborted"]));
    for (const store of stores) expect(await unlocked(store)).toBe(true);
  });
});

describe("formatFleetTable()", () => {
  test("one row per store, aligned columns, a summary, and why each store did not rotate", () => {
    const base = { sharedWith: [], durationMs: 0 };
    const report: FleetReport = {
      results: [
        { ...base, store: "ini:/c#ci", outcome: "rotated", oldAccessKeyId: "AKIAOLD0000000000001", newAccessKeyId: "AKIANEW0000000000001", durationMs: 1840 },
        {
          ...base,
          store: "ini:/c#deploy-prod",
          outcome: "failed",
          oldAccessKeyId: "AKIAOLD0000000000002",
          error: { kind: "lock", store: "ini:/c#deploy-prod", message: "locked by pid 7" },
        },
        {
          ...base,
          store: "env:/app/.env",
          outcome: "completed-with-warnings",
          oldAccessKeyId: "AKIAOLD0000000000003",
          newAccessKeyId: "AKIANEW0000000000003",
          durationMs: 12_345,
          report: {
            outcome: "completed-with-warnings",
            store: "env:/app/.env",
            oldKey: "active",
            verifyAttempts: 2,
            durationMs: 12_345,
            steps: [],
            warnings: ["the old key AKIAOLD0000000000003 could not be deleted"],
            leftovers: { accessKeyIds: [] },
            nextSteps: [],
            manualSteps: [],
          },
        },
      ],
      rotated: 1,
      warnings: 1,
      skipped: 0,
      failed: 1,
      durationMs: 14_200,
    };

    expect(formatFleetTable(report)).toBe(
      [
        "STORE               OUTCOME                  OLD KEY               NEW KEY               SECONDS",
        "ini:/c#ci           rotated                  AKIAOLD0000000000001  AKIANEW0000000000001      1.8",
        "ini:/c#deploy-prod  failed                   AKIAOLD0000000000002  -                         0.0",
        "env:/app/.env       completed-with-warnings  AKIAOLD0000000000003  AKIANEW0000000000003     12.3",
        "",
        "3 stores: 1 rotated, 1 with warnings, 0 skipped, 1 failed in 14.2 s",
        "ini:/c#deploy-prod: locked by pid 7",
        "env:/app/.env: the old key AKIAOLD0000000000003 could not be deleted",
      ].join("\n"),
    );
  });

  test("an empty report is the header and the summary", () => {
    expect(formatFleetTable({ results: [], rotated: 0, warnings: 0, skipped: 0, failed: 0, durationMs: 4 })).toBe(
      "STORE  OUTCOME  OLD KEY  NEW KEY  SECONDS\n\n0 stores: 0 rotated, 0 with warnings, 0 skipped, 0 failed in 0.0 s",
    );
  });
});

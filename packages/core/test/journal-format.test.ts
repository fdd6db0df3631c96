import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileJournal } from "@keyup/core";
import { defaultRotationConfig, initialRotationState } from "@keyup/core/machine";
import { afterEach, beforeEach, describe, expect, test } from "vitest";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "keyup-journal-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A journal as keyup 0.1 wrote it (format 1): one shared `attempts`, `gracePeriodMs`, text `manualSteps`. */
function formatOne(version: number) {
  const { retries: _retries, ...state } = initialRotationState("memory:x", defaultRotationConfig);
  return {
    version,
    id: "r-1",
    store: "memory:x",
    pid: 1,
    host: "h",
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    state: {
      ...state,
      phase: "verifying",
      attempts: 6,
      config: { ...defaultRotationConfig, oldKey: "deactivate", gracePeriodMs: 86_400_000 },
      newAccessKeyId: "AKIANEWNEWNEWNEW0002",
      manualSteps: ["aws iam delete-access-key --user-name alice --access-key-id AKIANEWNEWNEWNEW0002"],
    },
    secrets: {},
  };
}

describe("journal format", () => {
  test("a format-1 journal is upgraded on load: per-loop retries, keepOldForMs, no text steps", async () => {
    const path = join(dir, "j.json");
    await writeFile(path, JSON.stringify(formatOne(1)), { mode: 0o600 });
    const entry = await fileJournal(path).load();
    expect(entry?.version).toBe(2);
    expect(entry?.state).toMatchObject({
      phase: "verifying",
      newAccessKeyId: "AKIANEWNEWNEWNEW0002",
      retries: { create: 0, verify: 0, retire: 0, rollback: 0 },
    });
    expect(entry?.state.config.keepOldForMs).toBe(86_400_000);
    expect(entry?.state.config).not.toHaveProperty("gracePeriodMs");
    expect(entry?.state).not.toHaveProperty("attempts");
    expect(entry?.state).not.toHaveProperty("manualSteps");
  });

  test("a journal from a newer keyup is refused with a clear message, and kept", async () => {
    const path = join(dir, "j.json");
    const text = JSON.stringify(formatOne(3));
    await writeFile(path, text, { mode: 0o600 });
    await expect(fileJournal(path).load()).rejects.toThrow(/written by a newer keyup \(journal format 3/);
    expect(await readFile(path, "utf8")).toBe(text);
  });

  test("keyup writes format 2", async () => {
    const path = join(dir, "j.json");
    const journal = fileJournal(path);
    const state = initialRotationState("memory:x", defaultRotationConfig);
    await journal.save({ version: 2, id: "r", store: "memory:x", pid: 1, host: "h", createdAt: "x", updatedAt: "x", state, secrets: {} });
    expect(JSON.parse(await readFile(path, "utf8")).version).toBe(2);
  });
});

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileJournal } from "@keyup/core";
import { defaultRotationConfig, initialRotationState, type RotationEvent, type RotationState, resumeState, transition } from "@keyup/core/machine";
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

  // Found by the mutation run: without a grace period the upgrade must not add a keepOldForMs key
  // (one holding undefined would stand in for "keep the old key" wherever the key's presence counts).
  test("a format-1 journal without a grace period is upgraded to a config without keepOldForMs", async () => {
    const path = join(dir, "j.json");
    const old = formatOne(1);
    const { gracePeriodMs: _grace, ...config } = old.state.config;
    await writeFile(path, JSON.stringify({ ...old, state: { ...old.state, config: { ...config, oldKey: "delete" } } }), { mode: 0o600 });
    const entry = await fileJournal(path).load();
    expect(entry?.version).toBe(2);
    expect(entry?.state.config).toStrictEqual({ ...defaultRotationConfig, oldKey: "delete" });
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

/**
 * Journals written by keyup before the state became a union by stage (format 2 both sides): the
 * fixtures are the old machine's own output (a rotation of alice with the in-use guard and a 1-day
 * grace period) at three points. The stored shape did not change, so they load as they are and
 * resume where they stopped.
 */
describe("format-2 journals written before the state was typed by stage", () => {
  const OLD = "AKIAOLDOLDOLDOLD0001";
  const NEW = "AKIANEWNEWNEWNEW0002";
  const AT = 5_000;

  async function load(name: string): Promise<RotationState> {
    const text = await readFile(new URL(`./fixtures/journal-format-2-${name}.json`, import.meta.url), "utf8");
    const path = join(dir, "j.json");
    await writeFile(path, text, { mode: 0o600 });
    const entry = await fileJournal(path).load();
    expect(entry?.version).toBe(2);
    expect(entry?.state).toEqual(JSON.parse(text).state);
    return entry?.state as RotationState;
  }
  const run = (state: RotationState, events: RotationEvent[]) =>
    events.reduce((t, e) => transition(t.state, e), { state, effects: [] } as ReturnType<typeof transition>);
  const listed = (ids: string[]): RotationEvent => ({ type: "keysListed", keys: ids.map((accessKeyId) => ({ accessKeyId, status: "Active" })), at: AT });

  test("stopped in verifying: checked against IAM, then verifies the journal's new key", async () => {
    const resumed = resumeState(await load("verifying"), AT);
    expect(resumed).toMatchObject({ phase: "resuming", userName: "alice", resuming: { phase: "verifying", signer: "new" } });
    const t = run(resumed as RotationState, [listed([OLD, NEW])]);
    expect(t.state.phase).toBe("verifying");
    expect(t.effects).toEqual([{ type: "verify", accessKeyId: NEW }]);
  });

  test("stopped in checking-use: retires the old key and records its grace period from the journal's install time", async () => {
    const state = await load("checking-use");
    const t = run(resumeState(state, AT) as RotationState, [
      listed([OLD, NEW]),
      { type: "lastUsed", at: AT },
      { type: "keyUpdated", accessKeyId: OLD, at: AT },
    ]);
    expect(t.state.phase).toBe("recording-grace");
    const until = new Date((state.installedAt as number) + 86_400_000).toISOString();
    expect(t.effects).toEqual([{ type: "tagUser", userName: "alice", tags: [{ key: `keyup:grace:${OLD}`, value: until }], signer: "new" }]);
    const end = run(t.state, [{ type: "userTagged", at: AT }]).state;
    expect(end).toMatchObject({ phase: "done", outcome: "rotated", oldKeyState: "inactive" });
  });

  test("stopped while checking its journal: checks again; a new key gone from IAM is undone from the journal's backup", async () => {
    const resumed = resumeState(await load("resuming"), AT);
    expect(resumed).toMatchObject({ phase: "resuming", resuming: { phase: "verifying" } });
    // Missing from the first list and from the 10 more lists that allow for IAM's list lag.
    const relists = Array.from({ length: 10 }, (): RotationEvent[] => [{ type: "waited", at: AT }, listed([OLD])]).flat();
    const t = run(resumed as RotationState, [listed([OLD]), ...relists]);
    expect(t.state).toMatchObject({ phase: "restoring", failure: { code: "NewKeyGone", phase: "verifying" } });
    expect(t.effects).toEqual([{ type: "restoreStore", backup: { id: "sha256:abc", location: "/home/alice/.aws/credentials.keyup-backup" } }]);
  });

  test("a journal checking itself without the phase it goes on with is damaged, not resumed", async () => {
    const text = JSON.parse(await readFile(new URL("./fixtures/journal-format-2-resuming.json", import.meta.url), "utf8"));
    delete text.state.resuming;
    const path = join(dir, "j.json");
    await writeFile(path, JSON.stringify(text), { mode: 0o600 });
    await expect(fileJournal(path).load()).rejects.toThrow(/damaged/);
  });
});

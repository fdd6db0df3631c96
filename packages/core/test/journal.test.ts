import { chown, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { defaultJournalPath, fileJournal, type JournalEntry, type JournalProblem, memoryStore, type RotationState } from "@keyup/core";
import { describe, expect, test } from "vitest";
import { holdsSecret, watchFolder } from "../../../test-support/secrets.js";
// Not part of the public API: the runner builds entries with them.
import { journalEntry, journalHolder } from "../src/journal.js";

/**
 * The file journal on real files: what it writes (0600, atomically, nothing left beside it), what it
 * refuses to load (damaged, foreign), and the default location. The journal holds secrets by design,
 * so the secret scan checks its mode instead of its content.
 */
async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "keyup-journal-"));
  watchFolder(dir);
  return dir;
}

const OLD = { accessKeyId: "AKIAJOURNALOLD000001", secretAccessKey: "journal/old+secret00000000000000000000001" };
const NEW = { accessKeyId: "AKIAJOURNALNEW000001", secretAccessKey: "journal/new+secret00000000000000000000001" };
const state = { phase: "verifying", store: "memory:j", config: {}, steps: [], warnings: [], newAccessKeyId: NEW.accessKeyId } as unknown as RotationState;

async function rejection(p: Promise<unknown>): Promise<JournalProblem> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e as JournalProblem,
  );
}

describe("fileJournal()", () => {
  test("save then load returns the entry; clear removes the file; load of nothing is undefined", async () => {
    const path = join(await folder(), "nested", "deeper", "j.json");
    holdsSecret(path, "journal");
    const journal = fileJournal(path);
    expect(journal.location).toBe(path);
    expect(await journal.load()).toBeUndefined();
    const entry = journalEntry("r-1", state, { old: OLD, new: NEW }, new Date("2026-01-02T03:04:05.000Z"));
    await journal.save(entry);
    expect(await journal.load()).toEqual(entry);
    expect((await stat(path)).mode & 0o777, "the journal holds secrets: 0600").toBe(0o600);
    expect((await stat(join(path, ".."))).mode & 0o777, "a folder it creates is 0700").toBe(0o700);
    expect(await readdir(join(path, "..")), "no temp file is left beside it").toEqual(["j.json"]);
    expect(await readFile(path, "utf8")).toMatch(/\n$/);
    await journal.clear();
    expect(await journal.load()).toBeUndefined();
    await journal.clear(); // a second clear is harmless
  });

  test("a journal whose folder is a file fails with the write's own error (ENOTDIR), and nothing is made", async () => {
    // The folder is made only when the write finds it missing (ENOENT); any other failure is the
    // write's to report, not a mkdir's afterwards (which would say EEXIST here).
    const dir = await folder();
    await writeFile(join(dir, "state"), "not a folder\n");
    const error = await rejection(fileJournal(join(dir, "state", "j.json")).save(journalEntry("r-1", state, { old: OLD }, new Date(0))));
    expect(error.code).toBe("ENOTDIR");
    expect(await readdir(dir)).toEqual(["state"]);
    expect(await readFile(join(dir, "state"), "utf8")).toBe("not a folder\n");
  });

  test("a second save replaces the first", async () => {
    const path = join(await folder(), "j.json");
    holdsSecret(path, "journal");
    const journal = fileJournal(path);
    await journal.save(journalEntry("r-1", state, { old: OLD }, new Date(0)));
    const second = journalEntry("r-1", { ...state, phase: "deactivating" } as RotationState, { old: OLD, new: NEW }, new Date(1000), new Date(0).toISOString());
    await journal.save(second);
    expect(await journal.load()).toEqual(second);
  });

  test.each([
    ["not JSON", "{"],
    ["JSON null", "null"],
    ["a number", "42"],
    ["an unknown older version", JSON.stringify({ version: 0, id: "x", store: "s", state: { phase: "p", config: {}, steps: [] } })],
    ["a version that is not a number", JSON.stringify({ version: "2", id: "x", store: "s", state: { phase: "p", config: {}, steps: [] } })],
    // A string that compares above the current format is still damaged, not "from a newer keyup".
    ["a version that is a string above the current one", JSON.stringify({ version: "3", id: "x", store: "s", state: { phase: "p", config: {}, steps: [] } })],
    ["no id", JSON.stringify({ version: 1, store: "s", state: { phase: "p", config: {}, steps: [] } })],
    ["no store", JSON.stringify({ version: 1, id: "x", state: { phase: "p", config: {}, steps: [] } })],
    ["no state", JSON.stringify({ version: 1, id: "x", store: "s" })],
    ["a null state", JSON.stringify({ version: 1, id: "x", store: "s", state: null })],
    ["no phase", JSON.stringify({ version: 1, id: "x", store: "s", state: { config: {}, steps: [] } })],
    ["no config", JSON.stringify({ version: 1, id: "x", store: "s", state: { phase: "p", steps: [] } })],
    ["steps not a list", JSON.stringify({ version: 1, id: "x", store: "s", state: { phase: "p", config: {}, steps: {} } })],
    // A state checking its journal must name the phase it goes on with (found by the mutation run).
    ["a resuming state without the phase it resumes", JSON.stringify({ version: 2, id: "x", store: "s", state: { phase: "resuming", config: {}, steps: [] } })],
    [
      "a resuming state whose resumed phase is null",
      JSON.stringify({ version: 2, id: "x", store: "s", state: { phase: "resuming", resuming: null, config: {}, steps: [] } }),
    ],
  ])("a damaged journal (%s) is refused with EJOURNALCORRUPT and left in place", async (_label, text) => {
    const path = join(await folder(), "j.json");
    holdsSecret(path, "journal");
    await writeFile(path, text, { mode: 0o600 });
    const problem = await rejection(fileJournal(path).load());
    expect(problem.code).toBe("EJOURNALCORRUPT");
    expect(problem.name).toBe("JournalProblem");
    expect(problem.location).toBe(path);
    expect(problem.message).toContain(path);
    expect(problem.message).toContain("damaged");
    expect(await readFile(path, "utf8"), "left in place").toBe(text);
  });

  test("the smallest valid entry loads", async () => {
    const path = join(await folder(), "j.json");
    holdsSecret(path, "journal");
    const minimal = { version: 2, id: "x", store: "s", state: { phase: "p", config: {}, steps: [] } };
    await writeFile(path, JSON.stringify(minimal), { mode: 0o600 });
    expect(await fileJournal(path).load()).toEqual(minimal);
  });

  test("a journal from a newer keyup is refused with EJOURNALCORRUPT naming its format, and left in place", async () => {
    const path = join(await folder(), "j.json");
    holdsSecret(path, "journal");
    const text = JSON.stringify({ version: 3, id: "x", store: "s", state: { phase: "p", config: {}, steps: [] } });
    await writeFile(path, text, { mode: 0o600 });
    const problem = await rejection(fileJournal(path).load());
    expect(problem.code).toBe("EJOURNALCORRUPT");
    expect(problem.location).toBe(path);
    expect(problem.message).toContain(`the rotation journal ${path} was written by a newer keyup (journal format 3; this keyup reads formats 1 and 2)`);
    expect(await readFile(path, "utf8"), "left in place").toBe(text);
  });

  // The suite runs as root (see test-support/cli.ts), so it can hand the file to `nobody`.
  test("a journal owned by another user is refused with EJOURNALFOREIGN", async () => {
    const path = join(await folder(), "j.json");
    holdsSecret(path, "journal");
    await writeFile(path, JSON.stringify(journalEntry("r", state, {}, new Date())), { mode: 0o600 });
    await chown(path, 65534, 65534);
    const problem = await rejection(fileJournal(path).load());
    expect(problem.code).toBe("EJOURNALFOREIGN");
    expect(problem.message).toContain("uid 65534");
    expect(problem.location).toBe(path);
  });

  test("a journal path that cannot be read is EJOURNALIO, not 'nothing to resume'", async () => {
    const dir = await folder();
    const path = join(dir, "j.json");
    await mkdir(path); // a folder where the file should be
    const problem = await rejection(fileJournal(path).load());
    expect(problem.code).toBe("EJOURNALIO");
    expect(problem.message).toContain(`cannot read the rotation journal ${path}`);
  });
});

describe("journalEntry() and journalHolder()", () => {
  test("an entry records version, ids, this process, times, the state and copies of the secrets", () => {
    const now = new Date("2026-05-06T07:08:09.000Z");
    const entry: JournalEntry = journalEntry("r-9", state, { old: { ...OLD, extra: "x" } as typeof OLD, new: NEW }, now, "2026-05-06T07:00:00.000Z");
    expect(entry).toEqual({
      version: 2,
      id: "r-9",
      store: "memory:j",
      pid: process.pid,
      host: hostname(),
      createdAt: "2026-05-06T07:00:00.000Z",
      updatedAt: "2026-05-06T07:08:09.000Z",
      state,
      secrets: { old: OLD, new: NEW },
    });
    expect(journalEntry("r", state, {}, now)).toMatchObject({ createdAt: now.toISOString(), secrets: {} });
    expect(journalHolder(entry)).toBe(`pid ${process.pid} on ${hostname()}`);
  });
});

describe("defaultJournalPath()", () => {
  const store = memoryStore({ name: "memory:journal-test" });

  test("a store's own journalPath wins", () => {
    expect(defaultJournalPath({ ...store, journalPath: "/x/creds.keyup-journal.ci" }, {})).toBe("/x/creds.keyup-journal.ci");
  });

  test("an empty journalPath falls back to the state folder", () => {
    expect(defaultJournalPath({ ...store, journalPath: "" }, { XDG_STATE_HOME: "/state" })).toMatch(/^\/state\/keyup\/journal\/[0-9a-f]{24}\.json$/);
  });

  test("XDG_STATE_HOME when absolute, else HOME/.local/state; one file per store name", () => {
    const a = defaultJournalPath(store, { XDG_STATE_HOME: "/state" });
    expect(a).toMatch(/^\/state\/keyup\/journal\/[0-9a-f]{24}\.json$/);
    expect(defaultJournalPath(store, { XDG_STATE_HOME: "relative/state", HOME: "/home/me" })).toBe(a.replace("/state/", "/home/me/.local/state/"));
    expect(defaultJournalPath(store, { HOME: "/home/me" })).toBe(a.replace("/state/", "/home/me/.local/state/"));
    expect(defaultJournalPath(memoryStore({ name: "memory:other" }), { XDG_STATE_HOME: "/state" })).not.toBe(a);
  });
});

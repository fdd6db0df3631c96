import { createHash } from "node:crypto";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { homedir, hostname } from "node:os";
import { dirname, join } from "node:path";
import type { AccessKeyPair, CredentialStore } from "./credential-store.js";
import { ownFolder } from "./files/own-folder.js";
import { replaceFile, syncFolder } from "./files/replace-file.js";
import type { RotationState } from "./machine/types.js";

/**
 * What the journal records about a rotation in flight: its state and the secrets it holds, so a
 * rotation killed at any point can be finished or rolled back by the next run.
 *
 * @example
 * ```ts
 * const entry = await journal.load();
 * if (entry) console.log(entry.id, entry.state.phase, entry.state.newAccessKeyId);
 * ```
 */
export interface JournalEntry {
  /**
   * The format: 2 since per-loop retry counts, next steps as data and `keepOldForMs` (1 had one
   * shared `attempts`, `manualSteps` as text and `gracePeriodMs`). keyup writes 2 and reads both:
   * {@link currentJournalEntry} upgrades a 1.
   */
  readonly version: typeof JOURNAL_VERSION | 1;
  /** The rotation's id, stable across resumes. */
  readonly id: string;
  /** The store's printable name: a journal only ever resumes for the store that wrote it. */
  readonly store: string;
  readonly pid: number;
  readonly host: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly state: RotationState;
  /** The old and new key pairs. This is why journals are 0600 and never printed. */
  readonly secrets: { readonly old?: AccessKeyPair; readonly new?: AccessKeyPair };
}

/**
 * Where a rotation is recorded while it runs. `fileJournal()` is the default; anything durable works.
 *
 * @example
 * ```ts
 * const journal: RotationJournal = fileJournal("/var/lib/keyup/ci.journal.json");
 * await rotate({ store, journal });
 * ```
 */
export interface RotationJournal {
  /** Where the journal lives, safe to print. */
  readonly location: string;
  /** The unfinished rotation, if any. Rejects with a `JournalProblem` for a corrupt or foreign journal. */
  load(): Promise<JournalEntry | undefined>;
  /** Records `entry` durably (it must survive a crash the moment this resolves). */
  save(entry: JournalEntry): Promise<void>;
  /** Removes the record once the rotation has ended. */
  clear(): Promise<void>;
}

/**
 * Why a journal could not be used. The journal is left in place: it may hold the only copy of a
 * new secret.
 *
 * @example
 * ```ts
 * try { await journal.load(); } catch (e) { if ((e as JournalProblem).code === "EJOURNALCORRUPT") … }
 * ```
 */
export interface JournalProblem extends Error {
  readonly code: "EJOURNALCORRUPT" | "EJOURNALFOREIGN" | "EJOURNALIO";
  readonly location: string;
}

function problem(code: JournalProblem["code"], location: string, message: string, cause?: unknown): JournalProblem {
  return Object.assign(new Error(message, { cause }), { name: "JournalProblem", code, location }) as JournalProblem;
}

/**
 * The journal file keyup uses for `store` when none is given: the store's own `journalPath` when it
 * declares one (file stores keep it beside their file), else
 * `$XDG_STATE_HOME/keyup/journal/<hash of the store name>.json` (default `~/.local/state/...`).
 *
 * @example
 * ```ts
 * defaultJournalPath(iniStore({ profile: "ci" })); // "/home/me/.aws/credentials.keyup-journal.ci"
 * ```
 */
export function defaultJournalPath(store: CredentialStore, env: NodeJS.ProcessEnv = process.env): string {
  if (typeof store.journalPath === "string" && store.journalPath !== "") return store.journalPath;
  const base = env.XDG_STATE_HOME?.startsWith("/") ? env.XDG_STATE_HOME : join(env.HOME ?? homedir(), ".local", "state");
  const digest = createHash("sha256").update(store.name).digest("hex").slice(0, 24);
  return join(base, "keyup", "journal", `${digest}.json`);
}

/**
 * Options for {@link fileJournal}.
 *
 * @example
 * ```ts
 * const options: FileJournalOptions = { ownFolders: ["/home/me/.local/state/keyup", "/home/me/.local/state/keyup/journal"] };
 * ```
 */
export interface FileJournalOptions {
  /**
   * Folders, outermost first, that are keyup's own (its state folder): each is created 0700 and
   * refused (`EJOURNALFOREIGN`) when it is a symlink, another user's, or writable by others.
   * Default: the journal's folder is created if missing and not checked (a credentials file's folder).
   */
  readonly ownFolders?: readonly string[];
}

/**
 * The journal keyup uses for `store` when none is given: {@link fileJournal} at
 * {@link defaultJournalPath}; under the state folder, that folder and its `journal` folder must be
 * keyup's own (see {@link FileJournalOptions.ownFolders}).
 *
 * @example
 * ```ts
 * const journal = defaultJournal(secretsManagerStore({ secretId: "ci" }));
 * ```
 */
export function defaultJournal(store: CredentialStore, env: NodeJS.ProcessEnv = process.env): RotationJournal {
  const path = defaultJournalPath(store, env);
  if (typeof store.journalPath === "string" && store.journalPath !== "") return fileJournal(path);
  const journals = dirname(path);
  return fileJournal(path, { ownFolders: [dirname(journals), journals] });
}

/**
 * A journal in one JSON file, written atomically (a temporary file created exclusively under a
 * random name, fsync, rename, fsync of the folder) with mode 0600, owned by this user. `load()`
 * refuses a file that is not valid, or that belongs to another OS user.
 *
 * @example
 * ```ts
 * const journal = fileJournal(defaultJournalPath(store));
 * const pending = await journal.load();
 * ```
 */
export function fileJournal(path: string, options: FileJournalOptions = {}): RotationJournal {
  return {
    location: path,
    load: async () => {
      let text: string;
      try {
        const info = await stat(path);
        if (typeof process.getuid === "function" && info.uid !== process.getuid()) {
          throw problem(
            "EJOURNALFOREIGN",
            path,
            `the rotation journal ${path} belongs to another user (uid ${info.uid}); keyup will not act on it. Run keyup as that user, or inspect it and move it aside`,
          );
        }
        text = await readFile(path, "utf8");
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return undefined;
        if ((error as { name?: string }).name === "JournalProblem") throw error;
        throw problem("EJOURNALIO", path, `cannot read the rotation journal ${path}: ${(error as Error).message}`, error);
      }
      const version = versionOf(text);
      if (typeof version === "number" && version > JOURNAL_VERSION) {
        throw problem(
          "EJOURNALCORRUPT",
          path,
          `the rotation journal ${path} was written by a newer keyup (journal format ${version}; this keyup reads formats 1 and ${JOURNAL_VERSION}). It may hold the only copy of a new access key: recover with that newer keyup`,
        );
      }
      const entry = currentJournalEntry(parseEntry(text));
      if (!entry) {
        throw problem(
          "EJOURNALCORRUPT",
          path,
          `the rotation journal ${path} is damaged (not a keyup journal). It may hold the only copy of a new access key: inspect it, finish or undo that rotation by hand, then move the file aside`,
        );
      }
      return entry;
    },
    save: async (entry) => {
      // A temporary file created exclusively under a random name, owned by this user: never one
      // another user placed or predicted, and removed on every failure.
      const write = () => replaceFile(path, `${JSON.stringify(entry, null, 2)}\n`, { mode: 0o600 });
      try {
        if (options.ownFolders) for (const folder of options.ownFolders) await ownFolder(folder);
        else {
          // The journal is saved before every step, into a folder that is there (a credentials
          // file's): it is made only when the write finds it missing, not tried before every save.
          return await write().catch(async (error: unknown) => {
            if ((error as { code?: string }).code !== "ENOENT") throw error;
            await mkdir(dirname(path), { recursive: true, mode: 0o700 });
            await write();
          });
        }
      } catch (error) {
        if ((error as { code?: string }).code === "EUNSAFEPATH") throw problem("EJOURNALFOREIGN", path, (error as Error).message, error);
        throw error;
      }
      await write();
    },
    clear: async () => {
      await rm(path, { force: true });
      await syncFolder(dirname(path));
    },
  };
}

/**
 * A new journal entry for a rotation about to start.
 *
 * @example
 * ```ts
 * const entry = journalEntry("r-1", state, {}, new Date());
 * ```
 */
export function journalEntry(
  id: string,
  state: RotationState,
  secrets: { old?: AccessKeyPair; new?: AccessKeyPair },
  now: Date,
  createdAt: string = now.toISOString(),
): JournalEntry {
  return {
    version: JOURNAL_VERSION,
    id,
    store: state.store,
    pid: process.pid,
    host: hostname(),
    createdAt,
    updatedAt: now.toISOString(),
    state,
    secrets: {
      ...(secrets.old ? { old: { accessKeyId: secrets.old.accessKeyId, secretAccessKey: secrets.old.secretAccessKey } } : {}),
      ...(secrets.new ? { new: { accessKeyId: secrets.new.accessKeyId, secretAccessKey: secrets.new.secretAccessKey } } : {}),
    },
  };
}

/** The journal format this keyup writes. */
const JOURNAL_VERSION = 2;

/**
 * A journal entry in the current format: a format-1 entry (written by an earlier keyup, perhaps the
 * only record of a new key) is upgraded, never refused. Its retry counts start over, as on any resume;
 * its manual steps, kept as text, are not carried over (a resume works them out again).
 *
 * @example
 * ```ts
 * const entry = currentJournalEntry(await journal.load());
 * ```
 */
export function currentJournalEntry(entry: JournalEntry): JournalEntry;
export function currentJournalEntry(entry: JournalEntry | undefined): JournalEntry | undefined;
export function currentJournalEntry(entry: JournalEntry | undefined): JournalEntry | undefined {
  if (entry === undefined || entry.version === JOURNAL_VERSION) return entry;
  const { attempts: _attempts, manualSteps: _manualSteps, ...state } = entry.state as RotationState & { attempts?: number; manualSteps?: unknown };
  const { gracePeriodMs, ...config } = state.config as RotationState["config"] & { gracePeriodMs?: number };
  return {
    ...entry,
    version: JOURNAL_VERSION,
    state: {
      ...state,
      config: gracePeriodMs === undefined ? config : { ...config, keepOldForMs: gracePeriodMs },
      retries: { create: 0, verify: 0, retire: 0, rollback: 0 },
    },
  };
}

function parseEntry(text: string): JournalEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const e = value as Partial<JournalEntry>;
  const state = e.state as Partial<RotationState> | undefined;
  if (
    (e.version !== 1 && e.version !== JOURNAL_VERSION) ||
    typeof e.id !== "string" ||
    typeof e.store !== "string" ||
    typeof state !== "object" ||
    state === null
  )
    return undefined;
  if (typeof state.phase !== "string" || typeof state.config !== "object" || !Array.isArray(state.steps)) return undefined;
  // A state checking its journal names the phase it goes on with: without it the run could not resume.
  if (state.phase === "resuming" && (typeof state.resuming !== "object" || state.resuming === null)) return undefined;
  return e as JournalEntry;
}

function versionOf(text: string): unknown {
  try {
    return (JSON.parse(text) as { version?: unknown } | null)?.version;
  } catch {
    return undefined;
  }
}

/**
 * Host and pid of the process that wrote the entry, for messages.
 *
 * @example
 * ```ts
 * journalHolder(entry); // "pid 4242 on build-1"
 * ```
 */
export function journalHolder(entry: JournalEntry): string {
  return `pid ${entry.pid} on ${entry.host}`;
}

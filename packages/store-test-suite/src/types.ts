import type { AccessKeyPair, CredentialStore, StoreCapabilities } from "@keyup/core";
import type { ExpectStatic } from "vitest";

/**
 * What the suite asks a fixture factory for: a fresh store that is empty, or already holds `initial`.
 *
 * @example
 * ```ts
 * const request: CredentialStoreFixtureRequest = { initial: { accessKeyId: "AKIAEXAMPLE000001", secretAccessKey: "…" } };
 * ```
 */
export interface CredentialStoreFixtureRequest {
  /** The key the new store must already hold. Absent: the store holds no key (`read()` gives `undefined`). */
  readonly initial?: AccessKeyPair;
}

/**
 * One isolated store under test, with the handles the suite needs to look behind it.
 *
 * @example
 * ```ts
 * const fixture: CredentialStoreFixture = {
 *   store: envStore({ path }),
 *   reopen: () => envStore({ path }),
 *   readRaw: async () => (existsSync(path) ? readFileSync(path) : undefined),
 *   cleanup: () => rmSync(dir, { recursive: true, force: true }),
 * };
 * ```
 */
export interface CredentialStoreFixture {
  /** The store under test. */
  readonly store: CredentialStore;
  /**
   * Opens a second, independent handle on the same underlying data, as another process would
   * (for a file store: a new store object for the same path). A store whose data cannot outlive its
   * object (like core's `memoryStore`) returns the same object.
   */
  reopen(): CredentialStore | Promise<CredentialStore>;
  /**
   * The underlying bytes (a file's content, a secret's string), or `undefined` when the underlying
   * thing does not exist. When given, "changes nothing" and "restores exactly" are checked byte for byte;
   * without it, through `read()` only.
   */
  readRaw?(): Promise<Uint8Array | string | undefined>;
  /** Removes everything the fixture created. Runs after every case, passed or failed. */
  cleanup?(): void | Promise<void>;
  /**
   * How another process opens the same store, for the `cross-process lock` cases: they lock it from a
   * child `node` process, as a second rotation would. Required when `capabilities.crossProcessLock` is
   * `true` (those cases fail without it); ignored otherwise.
   */
  readonly inChildProcess?: CredentialStoreInChildProcess;
}

/**
 * What a child process needs to open the store under test: the module to import, the factory to call
 * and its arguments (JSON). The child runs `node ...execArgv`, imports `module`, calls
 * `module[exportName](...args)`, and calls `lock()` on the store it returns.
 *
 * @example
 * ```ts
 * const inChildProcess: CredentialStoreInChildProcess = {
 *   module: new URL("../src/index.js", import.meta.url).href,
 *   exportName: "myFileStore",
 *   args: [{ path }],
 * };
 * ```
 */
export interface CredentialStoreInChildProcess {
  /** An absolute path or a `file:` URL of an ES or CommonJS module that `node` (with `execArgv`) can import. */
  readonly module: string;
  /** The module's named export that opens the store (it may return a promise). */
  readonly exportName: string;
  /** The export's arguments; they cross the process boundary as JSON. Default: none. */
  readonly args?: readonly unknown[];
  /** Extra `node` flags, for example `["--import", "tsx"]` to import TypeScript source. Default: none. */
  readonly execArgv?: readonly string[];
}

/**
 * Creates a fresh, isolated {@link CredentialStoreFixture} for one case.
 *
 * @example
 * ```ts
 * const createFixture: CreateCredentialStoreFixture = ({ initial }) => {
 *   const store = memoryStore({ initial });
 *   return { store, reopen: () => store };
 * };
 * ```
 */
export type CreateCredentialStoreFixture = (request: CredentialStoreFixtureRequest) => CredentialStoreFixture | Promise<CredentialStoreFixture>;

/**
 * The groups of cases. Each case's name starts with its group (`"atomic write: …"`), and
 * {@link CredentialStoreTestSuiteOptions.skip} switches groups off.
 *
 * - `capabilities`: the store declares the capabilities the suite was told about.
 * - `read`, `write`: basic reads and writes; `idempotent write`: re-writing the held key changes nothing.
 * - `atomic write`: concurrent readers see the old key or the new one, never a mix.
 * - `restore`: backup handles, exact and idempotent restore, unknown handles rejected.
 * - `durable backup`: a second handle restores a backup the first took (needs `capabilities.durableBackup`).
 * - `lock`: exclusivity and release on one handle; `cross-process lock`: exclusivity across handles
 *   (needs `capabilities.crossProcessLock`).
 * - `bad input`: non-keys are rejected with `EBADKEY` and change nothing.
 * - `secrets`: no secret in the store's name, backup handles, or any error.
 *
 * @example
 * ```ts
 * const groups: CredentialStoreTestGroup[] = ["atomic write", "cross-process lock"];
 * ```
 */
export type CredentialStoreTestGroup =
  | "capabilities"
  | "read"
  | "write"
  | "idempotent write"
  | "atomic write"
  | "restore"
  | "durable backup"
  | "lock"
  | "cross-process lock"
  | "bad input"
  | "secrets";

/**
 * Tunes the suite.
 *
 * @example
 * ```ts
 * const options: CredentialStoreTestSuiteOptions = {
 *   capabilities: { crossProcessLock: false, durableBackup: false },
 *   skip: ["atomic write"],
 * };
 * ```
 */
export interface CredentialStoreTestSuiteOptions {
  /**
   * The capabilities the store declares. Groups that need a capability run only when it is `true`,
   * and a `capabilities` case fails if the store declares anything else, so a store can neither
   * claim more than it is tested for nor be tested for less than it claims.
   * Default: every capability `true` (the strictest suite).
   */
  readonly capabilities?: StoreCapabilities;
  /**
   * Whether the store implements the optional `discard()`. Default `true`. With `false` the discard
   * case is not registered (credentialStoreNotApplicable lists it) and a case checks that the store
   * indeed has no `discard()`.
   */
  readonly discard?: boolean;
  /** Groups to leave out entirely. Default: none. */
  readonly skip?: readonly CredentialStoreTestGroup[];
  /** How many writes the atomic-write case races readers against. Default 20. */
  readonly atomicWriteRounds?: number;
  /**
   * How quickly a contended `lock()` must throw `ELOCKED`, in milliseconds. Default 1000. In the
   * cross-process case the contender's second refused call is timed: its first also loads what the
   * store loads lazily, which is the machine's speed, not the lock's.
   */
  readonly lockWithinMs?: number;
  /**
   * Per-case timeout handed to the test runner, in milliseconds. Default 15000. The cross-process lock
   * cases get 45000 more, for starting their child process.
   */
  readonly timeoutMs?: number;
}

/**
 * What a case needs from the test runner: vitest's per-test `expect`.
 *
 * @example
 * ```ts
 * test("my case", ({ expect }) => cases[0]!.run({ expect }));
 * ```
 */
export interface CredentialStoreTestContext {
  readonly expect: ExpectStatic;
}

/**
 * One conformance case as data: a name and a body that rejects when the store breaks the contract.
 *
 * @example
 * ```ts
 * for (const c of credentialStoreTestCases(createFixture)) test(c.name, ({ expect }) => c.run({ expect }));
 * ```
 */
export interface CredentialStoreTestCase {
  /** Starts with the group, for example `"lock: a second lock() throws ELOCKED at once"`. */
  readonly name: string;
  readonly group: CredentialStoreTestGroup;
  /** Creates its own fixture, runs the checks, and always cleans up. */
  run(context: CredentialStoreTestContext): Promise<void>;
}

/**
 * The part of vitest's `test` the suite uses to register cases. Pass vitest's `test` (or a
 * `test.extend(...)` of it).
 *
 * @example
 * ```ts
 * import { test } from "vitest";
 * const register: CredentialStoreTestRegistrar = test;
 * ```
 */
export type CredentialStoreTestRegistrar = (name: string, fn: (context: CredentialStoreTestContext) => Promise<void>, timeout?: number) => void;

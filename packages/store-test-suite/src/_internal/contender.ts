import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { CredentialStoreInChildProcess } from "../types.js";

// The child's program, run with `node --input-type=module -e`: open the store the fixture describes,
// lock it (once more after a refusal: see below), and say on stdout (one JSON line) whether it got the
// lock. A child that holds the lock releases it when told to on stdin ("release"), or when stdin closes.
// Only a lock() call is timed, so the child's start-up (which can take seconds on a loaded machine) does
// not count against lockWithinMs.
const PROGRAM = `
import { pathToFileURL } from "node:url";
const say = (message) => process.stdout.write(JSON.stringify(message) + "\\n");
const fieldsOf = (error) =>
  Object.fromEntries(Object.getOwnPropertyNames(Object(error)).map((name) => [name, String(Object(error)[name])]));
const spec = JSON.parse(process.env.KEYUP_STORE_CONTENDER);
let store;
try {
  const url = spec.module.startsWith("file:") ? spec.module : pathToFileURL(spec.module).href;
  const factory = (await import(url))[spec.exportName];
  if (typeof factory !== "function") throw new Error(spec.module + " has no function export named " + spec.exportName);
  store = await factory(...spec.args);
} catch (error) {
  say({ event: "failed", message: String(error && error.message), fields: fieldsOf(error) });
  process.exit(1);
}
let started = Date.now();
let lock;
try {
  lock = await store.lock();
} catch {
  // Refused. A store's first call also loads what it loads lazily (an SDK, a connection pool), which
  // on a loaded machine can take longer than lockWithinMs by itself; a second call, timed, shows
  // whether lock() waits for the holder. A lock that waits, waits on both calls.
  started = Date.now();
  try {
    lock = await store.lock();
  } catch (error) {
    say({ event: "refused", ms: Date.now() - started, isError: error instanceof Error, code: error && error.code, message: error && error.message, fields: fieldsOf(error) });
    process.exit(0);
  }
}
say({ event: "locked", ms: Date.now() - started });
const release = async () => {
  await lock.release();
  say({ event: "released" });
  process.exit(0);
};
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { if (chunk.includes("release")) void release(); });
process.stdin.on("end", () => void release());
`;

/** What the child's lock() did. `fields`: the error's own properties as strings, for the secret check. */
export type ContenderOutcome =
  | { readonly event: "locked"; readonly ms: number }
  | {
      readonly event: "refused";
      readonly ms: number;
      readonly isError: boolean;
      readonly code: unknown;
      readonly message: unknown;
      readonly fields: Record<string, string>;
    };

/** A child process that tried to take the store's lock. */
export interface Contender {
  readonly outcome: ContenderOutcome;
  /** Tells a child holding the lock to release it; resolves once it has. */
  release(): Promise<void>;
  /** Kills the child if it still runs. */
  stop(): void;
}

/**
 * Starts a child process that opens the store as `spec` says and calls `lock()` once; resolves with
 * what that call did. Rejects if the child cannot open the store or exits without saying.
 */
export async function startContender(spec: CredentialStoreInChildProcess): Promise<Contender> {
  const child: ChildProcess = spawn(process.execPath, [...(spec.execArgv ?? []), "--input-type=module", "-e", PROGRAM], {
    env: { ...process.env, KEYUP_STORE_CONTENDER: JSON.stringify({ module: spec.module, exportName: spec.exportName, args: spec.args ?? [] }) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? String(code))));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error(`the child process ended (${await exited}) without an answer; its stderr: ${stderr.trim()}`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  try {
    const first = await next();
    if (first.event === "failed") throw new Error(`the child process could not open the store: ${String(first.message)}; its stderr: ${stderr.trim()}`);
    return {
      outcome: first as unknown as ContenderOutcome,
      release: async () => {
        child.stdin?.write("release\n");
        const answer = await next();
        if (answer.event !== "released") throw new Error(`the child process said ${JSON.stringify(answer.event)} instead of released`);
        await exited;
      },
      stop,
    };
  } catch (error) {
    stop();
    throw error;
  }
}

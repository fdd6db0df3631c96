import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import { watchFolder } from "../../../../test-support/secrets.js";

const dirs: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
// After all tests, not each: concurrent tests would remove each other's folders.
afterAll(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temp folder, removed after the test file. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "keyup-store-env-"));
  dirs.push(dir);
  watchFolder(dir, { remove: false });
  return dir;
}

export { rejection, thrown } from "../../../../test-support/caught.js";

export interface ChildReply {
  readonly ready?: boolean;
  readonly pid?: number;
  readonly locked?: boolean;
  readonly released?: boolean;
  readonly code?: string;
  readonly holder?: string;
  readonly message?: string;
}

/** Another process with its own envStore on `path`, driven command by command (see lock-child.mjs). */
export interface LockChild {
  readonly process: ChildProcessWithoutNullStreams;
  readonly pid: number;
  send(command: "lock" | "release"): Promise<ChildReply>;
  /** Resolves when the process has exited. */
  exited(): Promise<void>;
}

const register = fileURLToPath(new URL("./register-ts.mjs", import.meta.url));
const script = fileURLToPath(new URL("./lock-child.mjs", import.meta.url));

export async function startLockChild(path: string): Promise<LockChild> {
  const child = spawn(process.execPath, ["--import", register, script, path], { stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<ChildReply> => {
    const line = await Promise.race([lines.next(), exit.then(() => ({ done: true, value: undefined }))]);
    if (line.done || line.value === undefined) throw new Error(`lock child exited early: ${stderr}`);
    return JSON.parse(line.value) as ChildReply;
  };
  const ready = await next();
  return {
    process: child,
    pid: ready.pid as number,
    send: async (command) => {
      child.stdin.write(`${command}\n`);
      return next();
    },
    exited: () => exit,
  };
}

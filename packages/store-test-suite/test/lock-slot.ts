import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createStoreError, type StoreLock } from "@keyup/core";

/**
 * Where a test store keeps its lock: who holds it (a token), taken and cleared. In a module of its
 * own so the conformance suite's child process can take the same lock (`fileLockStore`).
 *
 * @example
 * ```ts
 * const slot = fileSlot("/tmp/disk.lock");
 * if (slot.holder() === undefined) slot.take("me");
 * ```
 */
export interface LockSlot {
  holder(): string | undefined;
  take(token: string): void;
  clear(): void;
}

/**
 * A lock slot in a file, which every process sees.
 *
 * @example
 * ```ts
 * const slot = fileSlot("/tmp/disk.lock");
 * ```
 */
export function fileSlot(path: string): LockSlot {
  return {
    holder: () => (existsSync(path) ? readFileSync(path, "utf8") : undefined),
    take: (token) => writeFileSync(path, token),
    clear: () => rmSync(path, { force: true }),
  };
}

/**
 * A lock slot in memory, seen by one handle only.
 *
 * @example
 * ```ts
 * const slot = memorySlot();
 * ```
 */
export function memorySlot(): LockSlot {
  let token: string | undefined;
  return {
    holder: () => token,
    take: (next) => {
      token = next;
    },
    clear: () => {
      token = undefined;
    },
  };
}

/**
 * The lock of suite-catches-bugs' reference store, as another process opens it: only `lock()`, taken
 * with an exclusive create of the lock file.
 *
 * @example
 * ```ts
 * const lock = await fileLockStore("/tmp/disk.lock").lock();
 * await lock.release();
 * ```
 */
export function fileLockStore(path: string): { lock(): Promise<StoreLock> } {
  return {
    lock: async () => {
      const token = randomUUID();
      try {
        writeFileSync(path, token, { flag: "wx" });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") throw createStoreError("ELOCKED", "text:test is locked", { holder: "another process" });
        throw error;
      }
      return {
        release: async () => {
          if (fileSlot(path).holder() === token) rmSync(path, { force: true });
        },
      };
    },
  };
}

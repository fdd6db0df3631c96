import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { access, mkdir, readFile, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { hostname } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { iniStore } from "@keyup/store-ini";
import { beforeAll, describe, expect, it } from "vitest";
import { OLD } from "./fixtures.js";
import { exposedText, rejection, tempDir } from "./support.js";

const require = createRequire(import.meta.url);
const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

// The child processes run the store's real source, bundled once with the esbuild that tsup ships.
let childScript = "";
beforeAll(async () => {
  const esbuild = createRequire(require.resolve("tsup"))("esbuild") as {
    build(options: Record<string, unknown>): Promise<unknown>;
  };
  const dir = await tempDir();
  const bundle = join(dir, "store-ini.cjs");
  await esbuild.build({
    entryPoints: [join(packageRoot, "src", "index.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    outfile: bundle,
    // The store uses only the contract part of core.
    alias: {
      "@keyup/core/files": join(packageRoot, "..", "core", "src", "files", "index.ts"),
      "@keyup/core": join(packageRoot, "..", "core", "src", "credential-store.ts"),
    },
    logLevel: "silent",
  });
  childScript = join(dir, "child.cjs");
  await writeFile(
    childScript,
    `const { iniStore } = require(${JSON.stringify(bundle)});
const [mode, path, profile] = process.argv.slice(2);
const store = iniStore({ profile, path });
(async () => {
  if (mode === "hold") {
    const lock = await store.lock();
    process.stdout.write("locked\\n");
    process.stdin.once("data", async () => {
      await lock.release();
      process.stdout.write("released\\n");
      process.exit(0);
    });
  } else {
    const started = Date.now();
    try {
      const lock = await store.lock();
      await lock.release();
      process.stdout.write(JSON.stringify({ ok: true }) + "\\n");
    } catch (error) {
      process.stdout.write(JSON.stringify({ code: error.code, holder: error.holder, message: error.message, ms: Date.now() - started }) + "\\n");
    }
  }
})();
`,
  );
});

interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  /** The child's next line of stdout. */
  nextLine(): Promise<string>;
}

function startChild(mode: "hold" | "try", path: string, profile = "ci"): Child {
  const child = spawn(process.execPath, [childScript, mode, path, profile], { stdio: "pipe" });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += String(chunk);
  });
  return {
    process: child,
    nextLine: async () => {
      const next = await lines.next();
      if (next.done) throw new Error(`child exited without a line; stderr: ${stderr}`);
      return next.value;
    },
  };
}

async function credentialsFile(): Promise<string> {
  const path = join(await tempDir(), "credentials");
  await writeFile(path, `[ci]\naws_access_key_id = ${OLD.accessKeyId}\naws_secret_access_key = ${OLD.secretAccessKey}\n`, { mode: 0o600 });
  return path;
}

// "At once" means without waiting for the holder: a lock() that waited would take at least the 10 s
// after which an abandoned lock is taken over. Half of that holds on a loaded machine.
const AT_ONCE_MS = 5_000;

describe("lock across processes", () => {
  it("a child process holds the lock: this process fails at once with ELOCKED naming it, then gets it after release", async () => {
    const path = await credentialsFile();
    const child = startChild("hold", path);
    expect(await child.nextLine()).toBe("locked");

    const store = iniStore({ profile: "ci", path });
    const started = Date.now();
    const error = await rejection(store.lock());
    expect(Date.now() - started).toBeLessThan(AT_ONCE_MS);
    expect(error.code).toBe("ELOCKED");
    expect(error.holder).toContain(`pid ${child.process.pid} on host ${hostname()}`);
    expect(error.message).toContain(`pid ${child.process.pid}`);
    expect(exposedText(error)).not.toContain(OLD.secretAccessKey);

    child.process.stdin.write("release\n");
    expect(await child.nextLine()).toBe("released");
    await once(child.process, "exit");
    const lock = await store.lock();
    await lock.release();
  });

  it("this process holds the lock: a child process fails at once with ELOCKED naming this pid", async () => {
    const path = await credentialsFile();
    const lock = await iniStore({ profile: "ci", path }).lock();
    try {
      const child = startChild("try", path);
      const result = JSON.parse(await child.nextLine()) as { code: string; holder: string; ms: number };
      expect(result.code).toBe("ELOCKED");
      expect(result.holder).toContain(`pid ${process.pid} on host ${hostname()}`);
      expect(result.ms).toBeLessThan(AT_ONCE_MS);
    } finally {
      await lock.release();
    }
    const child = startChild("try", path);
    expect(JSON.parse(await child.nextLine())).toEqual({ ok: true });
  });

  it("the lock of a killed process is recovered at once", async () => {
    const path = await credentialsFile();
    const child = startChild("hold", path);
    expect(await child.nextLine()).toBe("locked");
    child.process.kill("SIGKILL");
    await once(child.process, "exit");
    expect(await exists(`${path}.lock`)).toBe(true);

    const lock = await iniStore({ profile: "ci", path }).lock();
    const holder = JSON.parse(await readFile(join(`${path}.lock`, "holder.json"), "utf8")) as { pid: number };
    expect(holder.pid).toBe(process.pid);
    await lock.release();
    expect(await exists(`${path}.lock`)).toBe(false);
  });
});

describe("lock in this process", () => {
  async function plantLock(path: string, holder: Record<string, unknown> | undefined, ageMs: number): Promise<void> {
    const lockDir = `${path}.lock`;
    await mkdir(lockDir);
    if (holder) await writeFile(join(lockDir, "holder.json"), JSON.stringify(holder));
    const when = new Date(Date.now() - ageMs);
    await utimes(lockDir, when, when);
  }

  it("excludes a second lock, releases idempotently, and removes the lock folder", async () => {
    const path = await credentialsFile();
    const store = iniStore({ profile: "ci", path });
    const lock = await store.lock();
    const error = await rejection(iniStore({ profile: "other", path }).lock());
    expect(error.code).toBe("ELOCKED");
    expect(error.holder).toContain(`pid ${process.pid}`);
    await lock.release();
    await lock.release();
    expect(await exists(`${path}.lock`)).toBe(false);
    await (await store.lock()).release();
  });

  it("records pid, host and start time (no secret) without upsetting proper-lockfile's own mtime check", async () => {
    const path = await credentialsFile();
    const lock = await iniStore({ profile: "ci", path }).lock();
    try {
      const text = await readFile(join(`${path}.lock`, "holder.json"), "utf8");
      const holder = JSON.parse(text) as Record<string, unknown>;
      expect(holder).toMatchObject({ pid: process.pid, hostname: hostname() });
      expect(Number.isNaN(Date.parse(String(holder.startedAt)))).toBe(false);
      expect(text).not.toContain(OLD.secretAccessKey);
      // proper-lockfile treats the lock as taken over if the folder's mtime is not the one it set.
      const { getLocks } = require("proper-lockfile/lib/lockfile") as { getLocks(): Record<string, { mtime: Date }> };
      const held = getLocks()[path];
      expect(held?.mtime.getTime()).toBe((await stat(`${path}.lock`)).mtime.getTime());
    } finally {
      await lock.release();
    }
  });

  it("recovers a stale lock (mtime past the threshold) from another host", async () => {
    const path = await credentialsFile();
    await plantLock(path, { pid: 4242, hostname: "some-other-host", startedAt: "2020-01-01T00:00:00.000Z", token: "t" }, 60_000);
    const lock = await iniStore({ profile: "ci", path }).lock();
    await lock.release();
  });

  it("respects a fresh lock from another host, naming it", async () => {
    const path = await credentialsFile();
    await plantLock(path, { pid: 4242, hostname: "some-other-host", startedAt: "2020-01-01T00:00:00.000Z", token: "t" }, 0);
    const error = await rejection(iniStore({ profile: "ci", path }).lock());
    expect(error.code).toBe("ELOCKED");
    expect(error.holder).toBe("pid 4242 on host some-other-host since 2020-01-01T00:00:00.000Z");
    expect(await exists(`${path}.lock`)).toBe(true);
  });

  it("respects a fresh lock without a holder file", async () => {
    const path = await credentialsFile();
    await plantLock(path, undefined, 0);
    const error = await rejection(iniStore({ profile: "ci", path }).lock());
    expect(error.code).toBe("ELOCKED");
    expect(error.holder).toBe("unknown");
  });

  it("recovers a lock left by an earlier process that had this same pid", async () => {
    const path = await credentialsFile();
    await plantLock(path, { pid: process.pid, hostname: hostname(), startedAt: "2020-01-01T00:00:00.000Z", token: "old" }, 0);
    const lock = await iniStore({ profile: "ci", path }).lock();
    await lock.release();
  });

  it("locks a missing file without creating it", async () => {
    const path = join(await tempDir(), "not-yet", "credentials");
    const lock = await iniStore({ profile: "ci", path }).lock();
    expect(await exists(`${path}.lock`)).toBe(true);
    expect(await exists(path)).toBe(false);
    await lock.release();
    expect(await exists(`${path}.lock`)).toBe(false);
  });

  it("a symlink and its target share one lock", async () => {
    const path = await credentialsFile();
    const link = join(path, "..", "link");
    await symlink(path, link);
    const lock = await iniStore({ profile: "ci", path: link }).lock();
    expect(await exists(`${path}.lock`)).toBe(true);
    expect((await rejection(iniStore({ profile: "ci", path }).lock())).code).toBe("ELOCKED");
    await lock.release();
  });
});

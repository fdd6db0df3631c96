import { open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { FileStore } from "@keyup/core/files";
import { envStore } from "@keyup/store-env";
import { iniStore } from "@keyup/store-ini";
import { parse as parseDotenv } from "dotenv";
import { parse, stringify } from "ini";
import { credentialsText } from "../test-support/emulator.js";
import { benchDir } from "./fixtures.js";
import type { Progress } from "./progress.js";
import { changedBytes, differingBytes, median, seededRandom } from "./stats.js";

/** The .env store's figures beside the INI store's: one key in a large `.env` file. */
export interface EnvStoreResult {
  readonly variables: number;
  readonly fileBytes: number;
  readonly readMs: number;
  readonly writeMs: number;
  readonly cycleMs: number;
  readonly floorMs: number;
  /**
   * dotenv's own `parse()` of the same bytes, in the same runs: what every program that loads the file
   * pays to find any setting in it, and the reference for a `read()` that must find the key by dotenv's rule.
   */
  readonly dotenvParseMs: number;
}

/** Benchmark 4's figures for one file size. */
export interface IniStoreResult {
  readonly profiles: number;
  readonly fileBytes: number;
  /** `read()` alone: the profile's key out of the whole file. */
  readonly readMs: number;
  /** `write()` alone: the surgical edit, written atomically (temp file, fsync, rename). */
  readonly writeMs: number;
  /** What a rotation does to the store: lock, read, backup, write, release. */
  readonly cycleMs: number;
  readonly differingBytes: number;
  readonly changedRegionBytes: number;
  /** The physical floor of the cycle: read the file, write it twice (backup and new file), fsync each. */
  readonly floorMs: number;
  /**
   * Minor page faults of the cycle and of the floor (medians): the 4 KiB pages of memory each touched
   * for the first time, every one a trip into the kernel. Absent where the platform does not count them.
   */
  readonly cycleFaults?: number;
  readonly floorFaults?: number;
  /** The same update done with `ini.parse` + `ini.stringify` (what most tools do). */
  readonly iniRewriteMs: number;
  readonly iniChangedRegionBytes: number;
  readonly commentLines: number;
  readonly iniCommentLinesKept: number;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function fakeKey(n: number): { accessKeyId: string; secretAccessKey: string } {
  // Deterministic, key-shaped, and not the secret of anything.
  const random = seededRandom(n);
  const pick = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
  return { accessKeyId: `AKIA${pick(ALPHABET, 16)}`, secretAccessKey: pick(SECRET_ALPHABET, 40) };
}

/** A credentials file of `profiles` profiles, each with a comment line, a key and a region. */
export function generatedCredentials(profiles: number): string {
  return credentialsText(
    "generated for the keyup INI benchmark",
    Array.from({ length: profiles }, (_, i) => ({
      name: `p${i + 1}`,
      key: fakeKey(i + 1),
      comment: `team ${(i + 1) % 17}, owner ${i + 1}`,
      region: "eu-west-1",
    })),
  );
}

/** A `.env` file of `variables` quoted settings (a comment every tenth line), the AWS key in the middle. */
export function generatedEnv(variables: number): string {
  const lines = ["# generated for the keyup .env benchmark"];
  for (let i = 0; i < variables; i++) {
    if (i === Math.floor(variables / 2)) {
      const key = fakeKey(0);
      lines.push(`AWS_ACCESS_KEY_ID=${key.accessKeyId}`, `AWS_SECRET_ACCESS_KEY=${key.secretAccessKey}`);
    }
    lines.push(i % 10 === 0 ? `# setting ${i}` : `APP_SETTING_${i}="value number ${i} for the app"`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Writes a run's file and fsyncs it, as a credentials file has long been on disk before a rotation:
 * left dirty, the first fsync measured (ext4 flushes a file rewritten through O_TRUNC as soon as it is
 * closed, and a journal commit waits for that) would also wait for the bench's own write.
 */
async function writeSettled(path: string, bytes: Buffer): Promise<void> {
  await writeFile(path, bytes, { mode: 0o600 });
  const handle = await open(path, "r");
  await handle.sync();
  await handle.close();
}

/** This process's minor page faults so far (the memory pages it touched for the first time). */
function minorFaults(): number {
  return process.resourceUsage().minorPageFault;
}

/** The floor of a store cycle: read the file, write it twice (backup and new file), fsync each. */
async function floorOf(path: string): Promise<number> {
  const started = performance.now();
  const bytes = await readFile(path);
  for (const copy of [`${path}.floor-1`, `${path}.floor-2`]) {
    const handle = await open(copy, "w", 0o600);
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
  }
  const ms = performance.now() - started;
  await rm(`${path}.floor-1`);
  await rm(`${path}.floor-2`);
  return ms;
}

/** `read()`, then `write()`, of a fresh store over `path`; then the cycle over `cyclePath`. */
async function storeFigures(
  make: (path: string) => FileStore,
  path: string,
  cyclePath: string,
  key: { accessKeyId: string; secretAccessKey: string },
): Promise<{ readMs: number; writeMs: number; cycleMs: number }> {
  const store = make(path);
  let started = performance.now();
  await store.read();
  const readMs = performance.now() - started;
  started = performance.now();
  await store.write(key);
  const writeMs = performance.now() - started;
  const cycled = make(cyclePath);
  started = performance.now();
  const lock = await cycled.lock();
  await cycled.read();
  await cycled.backup();
  await cycled.write(key);
  await lock.release();
  return { readMs, writeMs, cycleMs: performance.now() - started };
}

/**
 * The .env store on a file of `variables` settings, `runs` times (a new file each run, since the
 * store refuses bytes another writer changed), with the floor measured in the same runs.
 */
export async function benchEnvStore(variables: number, runs: number, progress: Progress): Promise<EnvStoreResult> {
  const dir = await benchDir();
  const original = Buffer.from(generatedEnv(variables));
  const fresh = fakeKey(variables + 1);
  const figures: { readMs: number; writeMs: number; cycleMs: number; floorMs: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const path = join(dir, `env-${i}`);
    const cyclePath = join(dir, `env-cycle-${i}`);
    // Unique per run and per store, like the INI files: no read meets text parsed before.
    await writeSettled(path, Buffer.concat([Buffer.from(`# run ${i}\n`), original]));
    await writeSettled(cyclePath, Buffer.concat([Buffer.from(`# cycle ${i}\n`), original]));
    const measured = await storeFigures((p) => envStore({ path: p }), path, cyclePath, fresh);
    figures.push({ ...measured, floorMs: await floorOf(cyclePath) });
  }
  // dotenv's parses after keyup's runs, as the INI bench runs its `ini` rewrites: the 80,000 strings
  // each parse leaves behind would otherwise be collected during the next run's cycle.
  const dotenvParses: number[] = [];
  for (let i = 0; i < runs; i++) {
    const bytes = await readFile(join(dir, `env-${i}`));
    const started = performance.now();
    parseDotenv(bytes);
    dotenvParses.push(performance.now() - started);
  }
  const result: EnvStoreResult = {
    variables,
    fileBytes: original.length,
    readMs: median(figures.map((f) => f.readMs)),
    writeMs: median(figures.map((f) => f.writeMs)),
    cycleMs: median(figures.map((f) => f.cycleMs)),
    floorMs: median(figures.map((f) => f.floorMs)),
    dotenvParseMs: median(dotenvParses),
  };
  progress.tick(
    `.env, ${variables} variables: read ${result.readMs.toFixed(2)} ms, cycle ${result.cycleMs.toFixed(2)} ms (floor ${result.floorMs.toFixed(2)} ms, dotenv's parse ${result.dotenvParseMs.toFixed(2)} ms)`,
  );
  return result;
}

/**
 * Updates the key of the middle profile of files of each size, `runs` times each (the file rewritten
 * to its original bytes before every run), with `iniStore` and with an `ini.parse`/`ini.stringify`
 * rewrite, and compares the bytes that changed.
 */
export async function benchIniStore(sizes: readonly number[], runs: number, progress: Progress): Promise<IniStoreResult[]> {
  const out: IniStoreResult[] = [];
  for (const profiles of sizes) {
    const dir = await benchDir();
    const generated = Buffer.from(generatedCredentials(profiles));
    let first = generated;
    const profile = `p${Math.ceil(profiles / 2)}`;
    const fresh = fakeKey(profiles + 1);
    const reads: number[] = [];
    const floors: number[] = [];
    const writes: number[] = [];
    const cycles: number[] = [];
    const cycleFaults: number[] = [];
    const floorFaults: number[] = [];
    const rewrites: number[] = [];
    let after = generated;
    let iniAfter = generated;
    for (let i = 0; i < runs; i++) {
      // A file per run: the store refuses to write over bytes another writer (this loop, resetting
      // the file) changed since keyup last backed up or wrote them in this process. Each run's file
      // differs in its first line, so that no run reads text the run before parsed.
      const path = join(dir, `credentials-${i}`);
      const original = Buffer.concat([Buffer.from(`# run ${i}\n`), generated]);
      first = original;
      await writeSettled(path, original);
      const store = iniStore({ profile, path });
      let started = performance.now();
      await store.read();
      reads.push(performance.now() - started);
      started = performance.now();
      await store.write(fresh);
      writes.push(performance.now() - started);
      after = await readFile(path);

      await writeSettled(path, Buffer.concat([Buffer.from(`# cycle ${i}\n`), generated]));
      let faults = minorFaults();
      started = performance.now();
      const lock = await store.lock();
      await store.read();
      await store.backup();
      await store.write(fresh);
      await lock.release();
      cycles.push(performance.now() - started);
      cycleFaults.push(minorFaults() - faults);

      faults = minorFaults();
      floors.push(await floorOf(path));
      floorFaults.push(minorFaults() - faults);
    }
    // The ini rewrites after all of keyup's runs: ini.parse of a large file leaves tens of MiB of
    // garbage, and the full garbage collection it calls for (20 to 50 ms, traced with --trace-gc)
    // landed in whichever of keyup's steps of the next run allocated first.
    for (let i = 0; i < runs; i++) {
      const path = join(dir, `credentials-${i}`);
      const original = Buffer.concat([Buffer.from(`# run ${i}\n`), generated]);
      await writeFile(path, original, { mode: 0o600 });
      const started = performance.now();
      const parsed = parse(await readFile(path, "utf8"));
      parsed[profile] = { ...parsed[profile], aws_access_key_id: fresh.accessKeyId, aws_secret_access_key: fresh.secretAccessKey };
      await writeFile(path, stringify(parsed), { mode: 0o600 });
      rewrites.push(performance.now() - started);
      iniAfter = await readFile(path);
    }
    const comments = (text: Buffer) =>
      text
        .toString("utf8")
        .split("\n")
        .filter((l) => l.startsWith("#")).length;
    const result: IniStoreResult = {
      profiles,
      fileBytes: first.length,
      readMs: median(reads),
      writeMs: median(writes),
      cycleMs: median(cycles),
      floorMs: median(floors),
      ...(process.platform === "linux" ? { cycleFaults: median(cycleFaults), floorFaults: median(floorFaults) } : {}),
      differingBytes: differingBytes(first, after),
      changedRegionBytes: changedBytes(first, after),
      iniRewriteMs: median(rewrites),
      iniChangedRegionBytes: changedBytes(first, iniAfter),
      commentLines: comments(first),
      iniCommentLinesKept: comments(iniAfter),
    };
    out.push(result);
    progress.tick(
      `${profiles} profiles: read ${result.readMs.toFixed(2)} ms, cycle ${result.cycleMs.toFixed(2)} ms (floor ${result.floorMs.toFixed(2)} ms), write ${result.writeMs.toFixed(2)} ms, ${result.differingBytes} bytes changed`,
    );
  }
  return out;
}

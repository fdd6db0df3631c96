import { readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readBytes } from "@keyup/core/files";
import { expect, test, vi } from "vitest";
import { tempDir } from "../../../test-support/moto.js";
import { twoLineStore } from "./two-line-store.js";

// readBytes reads a file in one read call and, given the bytes a store read a moment ago, returns
// that same buffer when (and only when) the file still holds exactly those bytes (issue 14).

test("the file's exact bytes; a missing file is undefined; an empty file and a folder behave as with readFile", async () => {
  const dir = await tempDir("keyup-read-");
  const bytes = Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0x0d, 0x0a, 0x00, 0xff]);
  await writeFile(join(dir, "f"), bytes);
  expect(await readBytes(join(dir, "f"), "the file")).toEqual(bytes);
  expect(await readBytes(join(dir, "missing"), "the file")).toBeUndefined();
  await writeFile(join(dir, "empty"), "");
  expect(await readBytes(join(dir, "empty"), "the file")).toEqual(Buffer.alloc(0));
  await expect(readBytes(dir, "the file")).rejects.toMatchObject({ code: "EIO" });
});

test("with known bytes: the same buffer back when the file holds them, a new one with the file's bytes otherwise, never sharing memory", async () => {
  const dir = await tempDir("keyup-read-");
  const path = join(dir, "f");
  const size = 3 * 1024 * 1024;
  const first = Buffer.alloc(size, "a");
  await writeFile(path, first);
  const known = Buffer.from(first);
  // Twice: the first comparison makes the spare buffer, the second reuses it.
  expect(await readBytes(path, "the file", known)).toBe(known);
  expect(await readBytes(path, "the file", known)).toBe(known);
  // Same size, one byte different: a buffer of its own, right after a comparison used the spare.
  const second = Buffer.from(first);
  second[size - 1] = 0x62;
  await writeFile(path, second);
  const read = await readBytes(path, "the file", known);
  expect(read).not.toBe(known);
  expect(read?.equals(second)).toBe(true);
  // A later read into the spare buffer does not change what an earlier read returned.
  const third = Buffer.alloc(size, "c");
  await writeFile(path, third);
  const again = await readBytes(path, "the file", known);
  expect(again?.equals(third)).toBe(true);
  expect(read?.equals(second)).toBe(true);
  expect(known.equals(first)).toBe(true);
  // Another size: no comparison, the file's bytes.
  await writeFile(path, "short\n");
  expect((await readBytes(path, "the file", known))?.toString()).toBe("short\n");
  // Reads side by side, each compared with the same known bytes, each get the file's bytes.
  await writeFile(path, second);
  const both = await Promise.all([readBytes(path, "the file", known), readBytes(path, "the file", known), readBytes(path, "the file", second)]);
  expect(both[0]?.equals(second) && both[1]?.equals(second)).toBe(true);
  expect(both[2]).toBe(second);
});

test("a file that says it is larger than it is (sysfs: 4096) gives the bytes it holds; one that says it is empty (procfs) too", async () => {
  // Real kernel files: a sysfs attribute is a regular file whose size is a page whatever it holds, so
  // the one read comes back short and the next gives 0 bytes; a procfs file's size is 0.
  const sysfs = "/sys/devices/system/cpu/online";
  const procfs = "/proc/self/mounts";
  expect((await stat(sysfs)).size).toBe(4096);
  const sys = await readBytes(sysfs, "the file");
  expect(sys?.equals(await readFile(sysfs))).toBe(true);
  expect(sys?.length).toBeLessThan(4096);
  expect((await stat(procfs)).size).toBe(0);
  const proc = await readBytes(procfs, "the file");
  expect(proc?.length).toBeGreaterThan(0);
  expect(proc?.equals(await readFile(procfs))).toBe(true);
  // With known bytes of the size it says: its own bytes still.
  expect((await readBytes(sysfs, "the file", Buffer.alloc(4096, "x")))?.equals(await readFile(sysfs))).toBe(true);
});

test("a buffer returned to a caller is never reused: a read without known bytes, then a compared read of another file of that size", async () => {
  const dir = await tempDir("keyup-read-");
  const size = 2 * 1024 * 1024 + 3;
  await writeFile(join(dir, "a"), Buffer.alloc(size, "a"));
  await writeFile(join(dir, "b"), Buffer.alloc(size, "b"));
  await writeFile(join(dir, "c"), Buffer.alloc(size, "c"));
  const a = await readBytes(join(dir, "a"), "the file");
  // Compared with known bytes the files do not hold: each gets a buffer of its own, twice over
  // (the first compared read may take the buffer a read made, the second the spare one).
  const b = await readBytes(join(dir, "b"), "the file", Buffer.alloc(size, "z"));
  const c = await readBytes(join(dir, "c"), "the file", Buffer.alloc(size, "z"));
  expect(a?.equals(Buffer.alloc(size, "a"))).toBe(true);
  expect(b?.equals(Buffer.alloc(size, "b"))).toBe(true);
  expect(c?.equals(Buffer.alloc(size, "c"))).toBe(true);
});

test("reads side by side of different files of one size, each compared with the same known bytes, each get their own file's bytes", async () => {
  const dir = await tempDir("keyup-read-");
  const size = 1024 * 1024;
  const names = ["p", "q", "r", "s"];
  for (const name of names) await writeFile(join(dir, name), Buffer.alloc(size, name));
  const known = Buffer.alloc(size, "k");
  // Several rounds: two reads into one shared buffer would show as bytes of another file.
  for (let round = 0; round < 10; round++) {
    const read = await Promise.all(names.map((name) => readBytes(join(dir, name), "the file", known)));
    expect(read.map((bytes, i) => bytes?.equals(Buffer.alloc(size, names[i])))).toEqual([true, true, true, true]);
  }
});

// What the held buffer is for: a re-read that finds the bytes it was given allocates nothing of the
// file's size (each such buffer of a 3 MiB file brings V8 nearer a full garbage collection). Counted
// with a spy on Buffer.allocUnsafeSlow that calls through: it watches the real reads, it fakes nothing.
const allocationsOf = async (size: number, run: () => Promise<unknown>) => {
  const spy = vi.spyOn(Buffer, "allocUnsafeSlow");
  try {
    await run();
    return spy.mock.calls.filter(([length]) => length >= size).length;
  } finally {
    spy.mockRestore();
  }
};

test("re-reads that find the known bytes allocate no buffer of the file's size, read after read, with plain reads between", async () => {
  const dir = await tempDir("keyup-read-");
  const path = join(dir, "f");
  // Larger than any file read before in this file: the first compared read must make the spare buffer.
  const size = 5 * 1024 * 1024 + 7;
  await writeFile(path, Buffer.alloc(size, "k"));
  const known = Buffer.alloc(size, "k");
  expect(await allocationsOf(size, () => readBytes(path, "the file", known))).toBe(1);
  for (let i = 0; i < 3; i++) {
    expect(await allocationsOf(size, () => readBytes(path, "the file", known))).toBe(0);
    // A read without known bytes gets a buffer of its own and leaves the spare one alone.
    expect(await allocationsOf(size, () => readBytes(path, "the file"))).toBe(1);
  }
  expect(await readBytes(path, "the file", known)).toBe(known);
});

test("a store re-reading its file, or reading what it wrote, allocates no buffer of the file's size", async () => {
  const dir = await tempDir("keyup-read-");
  const path = join(dir, "key.txt");
  const rest = "# padding\n".repeat(600_000);
  await writeFile(path, `AKIAOLDOLDOLDOLDOLD1\n${"s".repeat(40)}\n${rest}`, { mode: 0o600 });
  const size = (await stat(path)).size;
  const store = twoLineStore(path);
  await store.read();
  // The bytes it decoded are those it compares with (the first comparison may make the spare buffer,
  // if no read before made one this large); then those it wrote.
  expect(await allocationsOf(size, () => store.read())).toBeLessThanOrEqual(1);
  expect(await allocationsOf(size, () => store.read())).toBe(0);
  expect(await allocationsOf(size, () => store.read())).toBe(0);
  await store.write({ accessKeyId: "AKIANEWNEWNEWNEWNEW2", secretAccessKey: "t".repeat(40) });
  expect(await allocationsOf(size, () => store.read())).toBe(0);
  expect(await store.read()).toEqual({ accessKeyId: "AKIANEWNEWNEWNEWNEW2", secretAccessKey: "t".repeat(40) });
});

test("a store compares a re-read with the bytes it backed up, and with those it decoded when it saw the file gone in between", async () => {
  const dir = await tempDir("keyup-read-");
  // A compared read of a larger file first: the spare buffer is then large enough for every read below.
  const big = join(dir, "big");
  await writeFile(big, Buffer.alloc(8 * 1024 * 1024, "b"));
  await readBytes(big, "the file", Buffer.alloc(8 * 1024 * 1024, "b"));
  const path = join(dir, "key.txt");
  const text = `AKIAOLDOLDOLDOLDOLD1\n${"s".repeat(40)}\n${"# padding\n".repeat(300_000)}`;
  await writeFile(path, text, { mode: 0o600 });
  const size = (await stat(path)).size;
  const store = twoLineStore(path, { missingFile: "create" });
  await store.backup();
  // Nothing decoded yet: the bytes backed up are those compared.
  expect(await allocationsOf(size, () => store.read())).toBe(0);
  // Gone at a backup, then put back as it was (what a restore of that backup does): the bytes decoded before.
  await unlink(path);
  await store.backup();
  await writeFile(path, text, { mode: 0o600 });
  expect(await allocationsOf(size, () => store.read())).toBe(0);
  expect(await store.read()).toEqual({ accessKeyId: "AKIAOLDOLDOLDOLDOLD1", secretAccessKey: "s".repeat(40) });
});

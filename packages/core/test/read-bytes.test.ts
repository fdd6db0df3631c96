import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readBytes } from "@keyup/core/files";
import { expect, test } from "vitest";
import { tempDir } from "../../../test-support/moto.js";

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

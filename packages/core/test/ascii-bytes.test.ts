import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { spliceText } from "@keyup/core/files";
import fc from "fast-check";
import { expect, test } from "vitest";
import { tempDir } from "../../../test-support/moto.js";
import { asciiBytesOf, rememberAsciiBytes } from "../src/files/ascii-bytes.js";
import { twoLineStore } from "./two-line-store.js";

// The files kit splices a large ASCII text from the bytes it was decoded from and writes the result's
// bytes without encoding it again (issue 14): the bytes must always be exactly the text's.

const large = (fill: string, length: number) => fill.repeat(Math.ceil(length / fill.length)).slice(0, length);

test("a remembered text gives back its bytes; a text that was not remembered, or a small one, gives nothing", () => {
  const text = large("a=1\n", 100_000);
  const bytes = Buffer.from(text, "latin1");
  expect(asciiBytesOf(text)).toBeUndefined();
  rememberAsciiBytes(text, bytes);
  expect(asciiBytesOf(text)).toBe(bytes);
  // An equal copy (another string object) finds the same bytes; a text of the same length that differs does not.
  expect(asciiBytesOf(`${text.slice(0, 50_000)}${text.slice(50_000)}`)).toBe(bytes);
  expect(asciiBytesOf(`b${text.slice(1)}`)).toBeUndefined();
  const small = "a=1\n";
  rememberAsciiBytes(small, Buffer.from(small));
  expect(asciiBytesOf(small)).toBeUndefined();
  // A few entries only: later texts push the oldest out.
  for (const c of "bcde") rememberAsciiBytes(large(`${c}=1\n`, 100_000), Buffer.from(large(`${c}=1\n`, 100_000)));
  expect(asciiBytesOf(text)).toBeUndefined();
});

test("spliceText of a remembered text: the same as splicing the text, and the result's bytes are remembered exactly", () => {
  const text = large("key = OLDVALUE\n# comment\n", 200_000);
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.nat({ max: text.length }), { minLength: 2, maxLength: 6 }),
      fc.string({ unit: fc.constantFrom("A", "=", "\n", "7"), maxLength: 12 }),
      (cuts, insert) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        const edits = [];
        for (let i = 0; i + 1 < sorted.length; i += 2) edits.push({ start: sorted[i] as number, end: sorted[i + 1] as number, insert });
        let expected = "";
        let from = 0;
        for (const { start, end } of edits) {
          expected += text.slice(from, start) + insert;
          from = end;
        }
        expected += text.slice(from);
        // Remembered again each time: the results push it out of the few entries kept.
        rememberAsciiBytes(text, Buffer.from(text, "latin1"));
        const result = spliceText(text, edits);
        expect(result).toBe(expected);
        // A result too small to be worth remembering is encoded by the store as any text is.
        if (result.length >= 64 * 1024) expect(asciiBytesOf(result)?.equals(Buffer.from(expected))).toBe(true);
        else expect(asciiBytesOf(result)).toBeUndefined();
      },
    ),
    { numRuns: 30 },
  );
});

test("a store whose format code splices a large ASCII file writes exactly the edited text's bytes, edit after edit", async () => {
  const dir = await tempDir("keyup-ascii-");
  const path = join(dir, "key.txt");
  const rest = "# padding\n".repeat(20_000);
  await writeFile(path, `AKIAOLDOLDOLDOLDOLD1\n${"s".repeat(40)}\n${rest}`, { mode: 0o600 });
  // The first two lines replaced by spliceText, as the INI and .env stores edit their files.
  const store = twoLineStore(path, {
    writeKey: (text, key) =>
      spliceText(text, [{ start: 0, end: text.indexOf("\n", text.indexOf("\n") + 1), insert: `${key.accessKeyId}\n${key.secretAccessKey}` }]),
  });
  for (const [n, c] of [
    [2, "t"],
    [3, "u"],
    [4, "v"],
  ] as const) {
    const key = { accessKeyId: `AKIANEWNEWNEWNEWNEW${n}`, secretAccessKey: c.repeat(40) };
    await store.read();
    await store.write(key);
    expect((await readFile(path)).equals(Buffer.from(`${key.accessKeyId}\n${key.secretAccessKey}\n${rest}`))).toBe(true);
    expect(await store.read()).toEqual(key);
  }
});

test("texts of 64 KiB and more are remembered, smaller ones never, and they push no remembered text out; nor does the same buffer remembered again", () => {
  const edge = large("e=1\n", 64 * 1024);
  const edgeBytes = Buffer.from(edge, "latin1");
  rememberAsciiBytes(edge, edgeBytes);
  expect(asciiBytesOf(edge)).toBe(edgeBytes);
  const under = large("u=1\n", 64 * 1024 - 1);
  rememberAsciiBytes(under, Buffer.from(under, "latin1"));
  expect(asciiBytesOf(under)).toBeUndefined();
  // Three entries are kept: small texts and the same buffer again do not take their places.
  const second = large("s=2\n", 70_000);
  const secondBytes = Buffer.from(second, "latin1");
  rememberAsciiBytes(second, secondBytes);
  for (let i = 0; i < 5; i++) rememberAsciiBytes(`k${i}=1\n`, Buffer.from(`k${i}=1\n`));
  for (let i = 0; i < 5; i++) rememberAsciiBytes(second, secondBytes);
  expect(asciiBytesOf(edge)).toBe(edgeBytes);
  expect(asciiBytesOf(second)).toBe(secondBytes);
});

test("spliceText of a large ASCII text it was not told about remembers the result's bytes all the same", () => {
  const text = large("plain = ascii\n", 90_000);
  expect(asciiBytesOf(text)).toBeUndefined();
  const result = spliceText(text, [{ start: 8, end: 13, insert: "edited" }]);
  expect(result).toBe(`plain = edited${text.slice(13)}`);
  expect(asciiBytesOf(result)?.equals(Buffer.from(result))).toBe(true);
});

test("a store remembers the bytes of the large ASCII text it read and of the one it wrote; not those of a text that is not ASCII", async () => {
  const dir = await tempDir("keyup-ascii-");
  const rest = "# padding, read\n".repeat(6_000);
  const path = join(dir, "key.txt");
  await writeFile(path, `AKIAOLDOLDOLDOLDOLD1\n${"s".repeat(40)}\n${rest}`, { mode: 0o600 });
  // The format's own writeKey builds the text by concatenation: nothing but the store remembers it.
  const store = twoLineStore(path);
  await store.read();
  const read = await readFile(path);
  expect(asciiBytesOf(read.toString("latin1"))?.equals(read)).toBe(true);
  const key = { accessKeyId: "AKIANEWNEWNEWNEWNEW2", secretAccessKey: "t".repeat(40) };
  await store.write(key);
  const written = `${key.accessKeyId}\n${key.secretAccessKey}\n${rest}`;
  expect(asciiBytesOf(written)?.equals(Buffer.from(written))).toBe(true);
  expect((await readFile(path)).equals(Buffer.from(written))).toBe(true);

  // One non-ASCII character: its UTF-8 bytes are not the text's offsets, so they are not remembered,
  // and an edit after it lands where it belongs.
  const other = join(dir, "other.txt");
  const utf8 = `AKIAOLDOLDOLDOLDOLD3\n${"s".repeat(40)}\n# café\n${rest}# end\n`;
  await writeFile(other, utf8, { mode: 0o600 });
  await twoLineStore(other).read();
  expect(asciiBytesOf(utf8)).toBeUndefined();
  const end = utf8.length - "end\n".length;
  expect(spliceText(utf8, [{ start: end, end: end + 3, insert: "END" }])).toBe(`${utf8.slice(0, end)}END\n`);
});

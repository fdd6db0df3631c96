import type { AccessKeyPair } from "@keyup/core";
import { editProfile, readProfile } from "@keyup/store-ini";
import { externalDataInterceptor, loadSharedConfigFiles } from "@smithy/core/config";
import fc from "fast-check";
import { parse } from "ini";
import { describe, expect, it } from "vitest";
import { propertyRuns } from "../../../test-support/property-runs.js";

/*
 * Generated credentials files, edited with editProfile and checked three ways: byte for byte against
 * a model of the file (only the two values change, or only the inserted lines / appended section
 * appear), and by reading the result with two independent readers, the `ini` package and the AWS SDK
 * for JavaScript's own loader (`loadSharedConfigFiles` from @smithy/core, fed from memory through its
 * `externalDataInterceptor`, so no case touches the disk).
 *
 * What is generated, and what is not (with the reason):
 * - Full-line comments only. The AWS CLI v1 keeps an inline comment after a value as part of the
 *   value while the SDK and `ini` cut it off (inline comments are covered by
 *   ini-editor.property.test.ts and the fixtures).
 * - Key lines start at column 0; only the lines of an `s3 =` nested block are indented. The AWS CLI
 *   reads a more-indented line as the continuation of the value above, the SDK as a new key (or a
 *   nested one after an empty value), so indented key lines mean different things to each reader.
 * - Headers are `[name]` with optional whitespace after the `]`, never a comment after it (`ini`
 *   takes such a line for a key).
 * - `[ name ]` spacing and key names in upper or mixed case (`AWS_Access_Key_ID`) only in the files
 *   of the "any syntax" properties, not in those read by the SDK: the SDK (like the AWS CLI v1) names
 *   `[ ci ]` " ci ", while `ini` and the editor trim it to "ci"; the SDK matches key names
 *   case-sensitively, while the AWS CLI lowercases them (so the `ini` reads below fold key names).
 * - A UTF-8 BOM in both kinds of file: the SDK skips it (String#trim drops U+FEFF). `ini` does not
 *   (a first `[x]` line would become a key), so it is given the text after the BOM; the byte check
 *   proves the BOM itself is kept. (The AWS CLI v1 cannot read a BOM at all.)
 * - Profile names from [a-z0-9._-] plus a pool with `default` and dotted names; a name that is a
 *   dotted prefix of another (`a` and `a.b`) is dropped, because `ini` nests dotted sections and a
 *   later `[a.b]` would replace an earlier `[a.b.c]` inside it.
 */

const BOM = "\uFEFF";
const ID = "aws_access_key_id";
const SECRET = "aws_secret_access_key";
const OURS = [ID, SECRET] as const;
type OurName = (typeof OURS)[number];

const SETTINGS = ["region", "output", "cli_pager", "max_attempts", "retry_mode"] as const;
const NESTED = ["max_concurrent_requests", "addressing_style", "use_accelerate_endpoint"] as const;
const NAME_POOL = ["default", "prod", "dev", "ci", "my-app", "team.prod", "team.dev", "build_bot", "eu-west-1.ro", "x_1-b.c", "Default"] as const;
// A dotted profile name's parts become objects in `ini`'s result: a part that is also a key name
// would collide with it. The SDK's result is a plain `{}`, where a profile named like an
// Object.prototype member would land on the prototype's own property.
const RESERVED_PARTS = new Set<string>([...SETTINGS, ...NESTED, ...OURS, "s3"]);

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".split("");
const SECRET_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+".split("");

/** Which syntax a file may use (see the header comment). */
interface Dialect {
  /** `[ name ]`: trimmed by the editor and `ini`, not by the SDK or the AWS CLI. */
  readonly spacedHeaders: boolean;
  /** `AWS_Access_Key_ID`: lowercased by the AWS CLI, matched case-sensitively by the SDK. */
  readonly keyNameCase: boolean;
}
const ANY_SYNTAX: Dialect = { spacedHeaders: true, keyNameCase: true };
const SDK_SYNTAX: Dialect = { spacedHeaders: false, keyNameCase: false };

const accessKeyId = fc.string({ unit: fc.constantFrom(...UPPER_ALNUM), minLength: 16, maxLength: 16 }).map((rest) => `AKIA${rest}`);
const secretAccessKey = fc.string({ unit: fc.constantFrom(...SECRET_CHARS), minLength: 40, maxLength: 40 });
const accessKey: fc.Arbitrary<AccessKeyPair> = fc.record({ accessKeyId, secretAccessKey });

const ws = fc.constantFrom("", "", " ", "\t", "  ", " \t");
// Inside `[ name ]`: mostly none, so that spaced and plain headers mix within a file.
const headerSpace = fc.constantFrom("", "", "", " ", "\t");
const eolArb = fc.constantFrom("\n", "\r\n");
// Bodies are sorted by this, so that fillers, settings and the key lines come in any order.
const order = fc.nat(99);

const profileName = fc
  .oneof(fc.constantFrom(...NAME_POOL), fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/))
  .filter((name) => name.split(".").every((part) => !RESERVED_PARTS.has(part) && !Object.hasOwn(Object.prototype, part)));

/** The `name = value` line an entry starts with, as written. */
interface KeyInfo {
  /** Lowercased (the AWS CLI and the editor match key names case-insensitively). */
  readonly name: string;
  readonly value: string;
  /** Everything before the value: name, spacing, `=`, spacing. */
  readonly prefix: string;
  /** Whitespace after the value. */
  readonly suffix: string;
  /** The spacing around `=` (what the editor copies into lines it inserts). */
  readonly separator: string;
}

/** Lines that belong together in a section body: a filler line, or a key line with its nested lines. */
interface Entry {
  readonly lines: readonly string[];
  readonly key: KeyInfo | undefined;
  readonly order: number;
}

function keyEntry(spelled: string, before: string, after: string, value: string, suffix: string, rank: number, nested: readonly string[] = []): Entry {
  const separator = `${before}=${after}`;
  const prefix = `${spelled}${separator}`;
  return { lines: [`${prefix}${value}${suffix}`, ...nested], key: { name: spelled.toLowerCase(), value, prefix, suffix, separator }, order: rank };
}

const commentText = fc.constantFrom(
  "",
  " keys for the build user",
  " aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
  " [ci]",
  " region = us-east-1",
  "=== team ===",
  " é ☃ ünïcode",
  "; twice",
  "#",
);
const filler: fc.Arbitrary<Entry> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc
      .tuple(ws, fc.constantFrom("#", ";"), commentText, order)
      .map(([lead, mark, text, rank]) => ({ lines: [`${lead}${mark}${text}`], key: undefined, order: rank })),
  },
  { weight: 1, arbitrary: fc.tuple(ws, order).map(([blank, rank]) => ({ lines: [blank], key: undefined, order: rank })) },
);

const setting: fc.Arbitrary<Entry> = fc
  .tuple(fc.constantFrom(...SETTINGS), ws, ws, fc.constantFrom("eu-west-1", "us-east-1", "json", "text", "3", "standard", "off", ""), ws, order)
  .map(([name, before, after, value, suffix, rank]) => keyEntry(name, before, after, value, suffix, rank));

// `s3 =` followed by more-indented `name = value` lines: the AWS CLI reads them as the value of s3,
// the SDK as `s3.name` keys, `ini` as plain keys of the profile. None of them is one of our keys.
const nestedBlock: fc.Arbitrary<Entry> = fc
  .tuple(
    ws,
    ws,
    fc.constantFrom("  ", "\t", "    "),
    fc.uniqueArray(fc.tuple(fc.constantFrom(...NESTED), fc.constantFrom("10", "path", "true")), { selector: ([name]) => name, minLength: 1, maxLength: 2 }),
    order,
  )
  .map(([before, after, indent, nested, rank]) =>
    keyEntry(
      "s3",
      before,
      after,
      "",
      "",
      rank,
      nested.map(([name, value]) => `${indent}${name} = ${value}`),
    ),
  );

function spellings(name: OurName, dialect: Dialect): fc.Arbitrary<string> {
  if (!dialect.keyNameCase) return fc.constant(name);
  const mixed = name
    .split("_")
    .map((word) => (word === "aws" || word === "id" ? word.toUpperCase() : `${word[0]?.toUpperCase()}${word.slice(1)}`))
    .join("_");
  return fc.constantFrom(name, name, name.toUpperCase(), mixed);
}

/** One of our two key lines: with a value, with an empty value (`aws_access_key_id =`), or absent. */
function ourKey(name: OurName, dialect: Dialect): fc.Arbitrary<Entry | undefined> {
  const value = name === ID ? accessKeyId : secretAccessKey;
  return fc
    .tuple(spellings(name, dialect), ws, ws, fc.oneof({ weight: 4, arbitrary: value }, { weight: 1, arbitrary: fc.constant("") }), ws, order, fc.nat(4))
    .map(([spelled, before, after, held, suffix, rank, presence]) => (presence === 0 ? undefined : keyEntry(spelled, before, after, held, suffix, rank)));
}

interface SectionModel {
  readonly name: string;
  readonly header: string;
  readonly body: readonly Entry[];
}

function section(dialect: Dialect): fc.Arbitrary<SectionModel> {
  const inner = dialect.spacedHeaders ? headerSpace : fc.constant("");
  return fc
    .record({
      name: profileName,
      left: inner,
      right: inner,
      trailing: ws,
      fillers: fc.array(filler, { maxLength: 4 }),
      settings: fc.uniqueArray(setting, { selector: (entry) => entry.key?.name, maxLength: 3 }),
      nested: fc.option(nestedBlock, { nil: undefined }),
      id: ourKey(ID, dialect),
      secret: ourKey(SECRET, dialect),
      keyless: fc.nat(3),
    })
    .map(({ name, left, right, trailing, fillers, settings, nested, id, secret, keyless }) => {
      const ours = keyless === 0 ? [] : [id, secret];
      const body = [...fillers, ...settings, nested, ...ours].filter((entry): entry is Entry => entry !== undefined).sort((a, b) => a.order - b.order);
      return { name, header: `[${left}${name}${right}]${trailing}`, body };
    });
}

/** A line of the target profile that holds one of our keys. */
interface OurLine {
  readonly index: number;
  readonly key: KeyInfo;
}

interface GeneratedFile {
  readonly text: string;
  readonly bom: boolean;
  readonly target: string;
  /** Every profile in the file. */
  readonly profiles: readonly string[];
  /** Undefined when the target profile is not in the file. */
  readonly present:
    | {
        readonly headerIndex: number;
        readonly ours: readonly OurLine[];
        /** The last key entry of the profile: its last line (nested lines included) and its first line's key. */
        readonly last: { readonly index: number; readonly key: KeyInfo } | undefined;
      }
    | undefined;
}

function credentialsFile(dialect: Dialect): fc.Arbitrary<GeneratedFile> {
  return fc
    .record({
      sections: fc.uniqueArray(section(dialect), { selector: (s) => s.name, minLength: 1, maxLength: 5 }),
      preamble: fc.array(filler, { maxLength: 3 }),
      targetIndex: fc.nat(),
      // 0: the target profile is left out of the file, so editProfile appends it.
      targetMode: fc.nat(3),
      eol: eolArb,
      bom: fc.boolean(),
      finalNewline: fc.boolean(),
    })
    .map(({ sections, preamble, targetIndex, targetMode, eol, bom, finalNewline }) => {
      const kept = sections.filter((s) => !sections.some((other) => other.name.startsWith(`${s.name}.`)));
      const targetSection = kept[targetIndex % kept.length] as SectionModel;
      const inFile = targetMode === 0 ? kept.filter((s) => s !== targetSection) : kept;

      const lines = preamble.flatMap((entry) => entry.lines);
      let present: GeneratedFile["present"];
      for (const s of inFile) {
        const headerIndex = lines.length;
        lines.push(s.header);
        const ours: OurLine[] = [];
        let last: { index: number; key: KeyInfo } | undefined;
        for (const entry of s.body) {
          if (entry.key && (entry.key.name === ID || entry.key.name === SECRET)) ours.push({ index: lines.length, key: entry.key });
          lines.push(...entry.lines);
          if (entry.key) last = { index: lines.length - 1, key: entry.key };
        }
        if (s === targetSection) present = { headerIndex, ours, last };
      }
      const text = (bom ? BOM : "") + lines.join(eol) + (finalNewline && lines.length > 0 ? eol : "");
      return { text, bom, target: targetSection.name, profiles: inFile.map((s) => s.name), present };
    });
}

interface Line {
  readonly content: string;
  readonly eol: string;
}

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  for (const match of text.matchAll(/([^\n]*?)(\r\n|\n|$)/g)) {
    const [whole, content = "", eol = ""] = match;
    if (whole === "") break;
    lines.push({ content, eol });
  }
  return lines;
}

const withoutBom = (text: string): string => (text.startsWith(BOM) ? text.slice(1) : text);
// The file's own line ending: its first one, "\n" when it has none.
const eolOf = (text: string): string => /\r?\n/.exec(text)?.[0] ?? "\n";
const newValue = (key: AccessKeyPair, name: string): string => (name === ID ? key.accessKeyId : key.secretAccessKey);

/**
 * The byte check: `edited` is `file.text` with exactly the target's two values changed, plus the
 * inserted key lines or the appended section, and nothing else.
 */
function expectSurgicalEdit(file: GeneratedFile, edited: string, key: AccessKeyPair): void {
  expect(edited.startsWith(BOM)).toBe(file.bom);
  const eol = eolOf(file.text);
  const before = splitLines(withoutBom(file.text));

  if (!file.present) {
    // Appended after one blank line (none when the file already ends with one, two line endings
    // when its last line has none), in the file's line ending.
    const lastLine = before.at(-1);
    const separator = !lastLine ? "" : lastLine.eol === "" ? eol + eol : lastLine.content.trim() === "" ? "" : eol;
    const appended = [`[${file.target}]`, `${ID} = ${key.accessKeyId}`, `${SECRET} = ${key.secretAccessKey}`].map((line) => line + eol).join("");
    expect(edited).toBe(file.text + separator + appended);
    return;
  }

  const { ours, last, headerIndex } = file.present;
  const after = splitLines(withoutBom(edited));
  const missing = OURS.filter((name) => !ours.some((line) => line.key.name === name));
  expect(after.length).toBe(before.length + missing.length);

  const expected: Array<{ content: string; eol: string }> = before.map((line) => ({ ...line }));
  for (const { index, key: held } of ours) {
    const value = newValue(key, held.name);
    const target = expected[index] as { content: string };
    if (held.value !== "") {
      target.content = held.prefix + value + held.suffix;
      continue;
    }
    // An empty value: the new one goes after `=`; the line's other bytes stay, at most one space is added.
    const actual = (after[index] as Line).content;
    const eq = held.prefix.indexOf("=");
    expect(actual.slice(0, eq + 1)).toBe(held.prefix.slice(0, eq + 1));
    const rest = actual.slice(eq + 1);
    expect(rest.trim()).toBe(value);
    const spacing = held.prefix.slice(eq + 1) + held.suffix;
    expect([spacing, ` ${spacing}`]).toContain(rest.replace(value, ""));
    target.content = actual;
  }

  // Missing keys go right after the profile's last key entry (or its header), copying that entry's
  // spacing around `=` unless its value is empty.
  const insertAt = (last?.index ?? headerIndex) + 1;
  const separator = last && last.key.value !== "" ? last.key.separator : " = ";
  const inserted = missing.map((name) => `${name}${separator}${newValue(key, name)}`);
  const previous = expected[insertAt - 1] as { eol: string };
  const insertedEols = inserted.map(() => eol);
  if (missing.length > 0 && previous.eol === "") {
    previous.eol = eol;
    insertedEols[insertedEols.length - 1] = "";
  }
  expect(after.slice(0, insertAt)).toEqual(expected.slice(0, insertAt));
  const block = after.slice(insertAt, insertAt + missing.length);
  expect(block.map((line) => line.content).sort()).toEqual([...inserted].sort());
  expect(block.map((line) => line.eol)).toEqual(insertedEols);
  expect(after.slice(insertAt + missing.length)).toEqual(expected.slice(insertAt));
}

type Values = Record<string, unknown>;

/** `text` as `ini` reads it. */
const iniRead = (text: string): Values => parse(withoutBom(text));

/** A profile's own values in `ini`'s result, key names folded as the AWS CLI folds them. */
function iniProfile(parsed: Values, profile: string): Values {
  // `ini` nests `[a.b]` inside `a`; child sections are objects, left out of a profile's own values.
  let node: unknown = parsed;
  for (const part of profile.split(".")) node = (node as Values | undefined)?.[part];
  const values: Values = {};
  for (const [name, value] of Object.entries((node ?? {}) as Values)) if (typeof value !== "object") values[name.toLowerCase()] = value;
  return values;
}

const CREDENTIALS = "/nonexistent/keyup-fast-check/credentials";
const CONFIG = "/nonexistent/keyup-fast-check/config";
externalDataInterceptor.interceptFile(CONFIG, "");

/** Every profile as the SDK's own loader reads `text` (from memory: the path is intercepted). */
async function sdkProfiles(text: string): Promise<Record<string, Values>> {
  externalDataInterceptor.interceptFile(CREDENTIALS, text);
  const { credentialsFile } = await loadSharedConfigFiles({ filepath: CREDENTIALS, configFilepath: CONFIG, ignoreCache: true });
  return credentialsFile;
}

function withoutOurs(values: Values | undefined): Values {
  const rest: Values = { ...values };
  for (const name of OURS) delete rest[name];
  return rest;
}

/** `ini` reads the new key in the target and every other value exactly as before the edit. */
function expectIniReadsEdit(file: GeneratedFile, edited: string, key: AccessKeyPair): void {
  const [before, after] = [iniRead(file.text), iniRead(edited)];
  for (const profile of file.profiles) {
    if (profile !== file.target) expect(iniProfile(after, profile)).toEqual(iniProfile(before, profile));
  }
  const target = iniProfile(after, file.target);
  expect([target[ID], target[SECRET]]).toEqual([key.accessKeyId, key.secretAccessKey]);
  expect(withoutOurs(target)).toEqual(withoutOurs(iniProfile(before, file.target)));
}

// Fewer under `pnpm mutate` only (test-support/property-runs.ts): every mutant reruns these suites.
const ANY_RUNS = propertyRuns(4_000);
const SDK_RUNS = propertyRuns(4_000);
const IDEMPOTENT_RUNS = propertyRuns(2_000);

describe("editProfile over generated credentials files (fast-check)", () => {
  it(`any syntax: only the two values change (or the key lines / section are added), and ini reads the result (${ANY_RUNS} cases)`, () => {
    fc.assert(
      fc.property(credentialsFile(ANY_SYNTAX), accessKey, (file, key) => {
        const edited = editProfile(file.text, file.target, key);
        expectSurgicalEdit(file, edited, key);
        expect(readProfile(edited, file.target)).toEqual(key);
        expectIniReadsEdit(file, edited, key);
      }),
      { numRuns: ANY_RUNS },
    );
  });

  it(`syntax the SDK reads like the AWS CLI: the SDK's loader and ini read the new key, every other value unchanged (${SDK_RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(credentialsFile(SDK_SYNTAX), accessKey, async (file, key) => {
        const edited = editProfile(file.text, file.target, key);
        expectSurgicalEdit(file, edited, key);
        expectIniReadsEdit(file, edited, key);

        const [sdkBefore, sdkAfter] = [await sdkProfiles(file.text), await sdkProfiles(edited)];
        for (const profile of file.profiles) {
          if (profile !== file.target) expect(sdkAfter[profile]).toEqual(sdkBefore[profile]);
        }
        const target = sdkAfter[file.target];
        expect([target?.[ID], target?.[SECRET]]).toEqual([key.accessKeyId, key.secretAccessKey]);
        expect(withoutOurs(target)).toEqual(withoutOurs(sdkBefore[file.target]));
      }),
      { numRuns: SDK_RUNS },
    );
  });

  it(`editing twice with the same key changes nothing more, and a later key replaces an earlier one without a trace (${IDEMPOTENT_RUNS} cases)`, () => {
    fc.assert(
      fc.property(credentialsFile(ANY_SYNTAX), accessKey, accessKey, (file, first, second) => {
        const once = editProfile(file.text, file.target, first);
        expect(editProfile(once, file.target, first)).toBe(once);
        expect(editProfile(once, file.target, second)).toBe(editProfile(file.text, file.target, second));
      }),
      { numRuns: IDEMPOTENT_RUNS },
    );
  });
});

import { editProfile, readProfile } from "@keyup/store-ini";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { propertyRuns } from "../../../test-support/property-runs.js";

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".split("");
const SECRET_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+".split("");

const key = fc.record({
  accessKeyId: fc.array(fc.constantFrom(...UPPER_ALNUM), { minLength: 16, maxLength: 16 }).map((chars) => `AKIA${chars.join("")}`),
  secretAccessKey: fc.array(fc.constantFrom(...SECRET_CHARS), { minLength: 40, maxLength: 40 }).map((chars) => chars.join("")),
});

const ws = fc.array(fc.constantFrom(" ", "\t"), { maxLength: 3 }).map((chars) => chars.join(""));
const ws1 = fc.array(fc.constantFrom(" ", "\t"), { minLength: 1, maxLength: 3 }).map((chars) => chars.join(""));
const text = fc.string({ unit: fc.constantFrom(..."abc XYZ-_.:/é☃".split("")), maxLength: 12 });
const inlineComment = fc.option(
  fc.tuple(ws1, fc.constantFrom("#", ";"), text).map((parts) => parts.join("")),
  { nil: "" },
);
const caseOf = (name: string) => fc.constantFrom(name, name.toUpperCase(), name[0]?.toUpperCase() + name.slice(1));

const comment = fc.tuple(ws, fc.constantFrom("#", ";"), text).map((parts) => parts.join(""));
const blank = ws;
// Settings are numbered so that no key repeats within a section (that is refused as ambiguous).
const setting = fc.tuple(fc.constantFrom("region", "output", "s3_max", "ca_bundle"), ws, ws, fc.stringMatching(/^[a-z0-9-]{1,10}$/), inlineComment).map(
  ([name, before, after, value, note]) =>
    (n: number) =>
      `${name}_${n}${before}=${after}${value}${note}`,
);
const keyLine = (name: string, value: string) =>
  fc.tuple(caseOf(name), ws, ws, inlineComment).map(([spelled, before, after, note]) => `${spelled}${before}=${after}${value}${note}`);
const filler = fc.array(fc.oneof(comment, blank, setting), { maxLength: 4 });
const render = (lines: ReadonlyArray<string | ((n: number) => string)>): string[] =>
  lines.map((line, index) => (typeof line === "string" ? line : line(index)));

/** A section's lines: the two key lines (in either order) between filler lines. */
const keySection = (held: { accessKeyId: string; secretAccessKey: string }) =>
  fc
    .tuple(filler, keyLine("aws_access_key_id", held.accessKeyId), filler, keyLine("aws_secret_access_key", held.secretAccessKey), filler, fc.boolean())
    .map(([a, id, b, secret, c, swap]) => render([...a, swap ? secret : id, ...b, swap ? id : secret, ...c]));

const file = (withKeys: boolean) =>
  fc
    .record({
      old: key,
      others: fc.uniqueArray(fc.constantFrom("default", "prod", "ci-old", "cix", "other"), { maxLength: 3 }),
      otherKeys: fc.array(key, { minLength: 3, maxLength: 3 }),
      position: fc.nat(),
      headerSpacing: fc.tuple(ws, ws),
      preamble: filler,
      eol: fc.constantFrom("\n", "\r\n"),
      bom: fc.boolean(),
      finalNewline: fc.boolean(),
    })
    .chain((shape) =>
      fc
        .tuple(withKeys ? keySection(shape.old) : filler.map(render), ...shape.others.map((_, index) => keySection(shape.otherKeys[index] ?? shape.old)))
        .map(([ours, ...theirs]) => {
          const sections = shape.others.map((name, index) => [`[${name}]`, ...(theirs[index] ?? [])]);
          const [left, right] = shape.headerSpacing;
          // Without keys, the profile is there (without key lines) or missing altogether.
          if (withKeys || shape.position % 2 === 0) sections.splice(shape.position % (sections.length + 1), 0, [`[${left}ci${right}]`, ...ours]);
          const lines = [...render(shape.preamble), ...sections.flat()];
          const body = lines.join(shape.eol) + (shape.finalNewline ? shape.eol : "");
          return { ...shape, text: (shape.bom ? "\uFEFF" : "") + body };
        }),
    );

describe("editProfile properties", () => {
  it("reads back the new key, leaves other profiles alone, and editing the old key back restores every byte", () => {
    fc.assert(
      fc.property(file(true), key, (generated, next) => {
        expect(readProfile(generated.text, "ci")).toEqual(generated.old);
        const edited = editProfile(generated.text, "ci", next);
        expect(readProfile(edited, "ci")).toEqual(next);
        generated.others.forEach((name, index) => {
          expect(readProfile(edited, name)).toEqual(generated.otherKeys[index]);
        });
        expect(edited.split(/\r?\n/).length).toBe(generated.text.split(/\r?\n/).length);
        expect(editProfile(edited, "ci", generated.old)).toBe(generated.text);
      }),
      { numRuns: propertyRuns(300) },
    );
  });

  it("a profile without keys, or no profile, gains them; every original line stays, in order", () => {
    fc.assert(
      fc.property(file(false), key, (generated, next) => {
        const edited = editProfile(generated.text, "ci", next);
        expect(readProfile(edited, "ci")).toEqual(next);
        generated.others.forEach((name, index) => {
          expect(readProfile(edited, name)).toEqual(generated.otherKeys[index]);
        });
        const before = generated.text.split(/\r?\n/);
        const after = edited.split(/\r?\n/);
        let matched = 0;
        for (const line of after) if (line === before[matched]) matched++;
        // A last line without a newline may gain one (it is then followed by an empty split item).
        expect(matched).toBeGreaterThanOrEqual(before.length - (before.at(-1) === "" ? 0 : 1));
        // At most: a newline for the last line, a blank separator, the header and the two key lines.
        expect(after.length - before.length).toBeLessThanOrEqual(5);
        expect(editProfile(edited, "ci", next)).toBe(edited);
      }),
      { numRuns: propertyRuns(300) },
    );
  });
});

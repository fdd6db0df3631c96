import { editProfile, readProfile } from "@keyup/store-ini";
import { describe, expect, it } from "vitest";
import { FIXTURES, OLD } from "./fixtures.js";
import { exposedText, fakeKey, iniPackageKey, thrown } from "./support.js";

describe("editProfile", () => {
  it.each(FIXTURES)("changes only the two values: $name", (fixture) => {
    const key = fakeKey();
    const edited = editProfile(fixture.before, fixture.profile, key);
    expect(edited).toBe(fixture.after(key));
  });

  it.each(FIXTURES.filter((fixture) => fixture.iniPackage))("the ini package reads the new values back: $name", (fixture) => {
    const key = fakeKey();
    const edited = editProfile(fixture.before, fixture.profile, key);
    expect(iniPackageKey(edited, fixture.profile)).toEqual(key);
  });

  it.each(FIXTURES)("readProfile reads the new key back, and a second edit with it changes nothing: $name", (fixture) => {
    const key = fakeKey();
    const edited = editProfile(fixture.before, fixture.profile, key);
    expect(readProfile(edited, fixture.profile)).toEqual(key);
    expect(editProfile(edited, fixture.profile, key)).toBe(edited);
  });

  it.each(FIXTURES)("a second rotation lands where the first would have: $name", (fixture) => {
    const first = fakeKey();
    const second = fakeKey();
    const twice = editProfile(editProfile(fixture.before, fixture.profile, first), fixture.profile, second);
    expect(twice).toBe(fixture.after(second));
  });

  it("inserts the missing key after an empty value that ends its line, without cutting into it (regression)", () => {
    // Found by ini-editor.fast-check.test.ts: the empty value is filled in at the very end of the
    // line, and the inserted line used to land before that value instead of after it.
    const key = fakeKey();
    const atEnd = editProfile("[ci]\naws_secret_access_key=", "ci", key);
    expect(atEnd).toBe(`[ci]\naws_secret_access_key= ${key.secretAccessKey}\naws_access_key_id = ${key.accessKeyId}`);
    expect(readProfile(atEnd, "ci")).toEqual(key);

    const before = "[ci]\r\naws_access_key_id=\r\n[b]\r\nregion = x\r\n";
    const midFile = editProfile(before, "ci", key);
    expect(midFile).toBe(`[ci]\r\naws_access_key_id= ${key.accessKeyId}\r\naws_secret_access_key = ${key.secretAccessKey}\r\n[b]\r\nregion = x\r\n`);
    expect(iniPackageKey(midFile, "ci")).toEqual(key);
  });

  it("returns the text unchanged when the profile already holds the key", () => {
    const text = `[ci]\naws_access_key_id = ${OLD.accessKeyId}\naws_secret_access_key = ${OLD.secretAccessKey}`;
    expect(editProfile(text, "ci", OLD)).toBe(text);
  });

  it("refuses a value that is not an access key pair, without echoing it", () => {
    const text = "[ci]\n";
    for (const bad of [
      { accessKeyId: OLD.accessKeyId, secretAccessKey: "abc\n[evil]" },
      { accessKeyId: "akialower0000000000000", secretAccessKey: OLD.secretAccessKey },
      { accessKeyId: OLD.accessKeyId, secretAccessKey: "" },
      { accessKeyId: OLD.accessKeyId, secretAccessKey: "has # hash" },
    ]) {
      const error = thrown(() => editProfile(text, "ci", bad));
      expect(error.code).toBe("EBADKEY");
      expect(exposedText(error)).not.toContain(bad.secretAccessKey || "\u0000");
      expect(exposedText(error)).not.toContain(bad.accessKeyId);
    }
  });

  it("refuses profile names that cannot be a section header", () => {
    for (const profile of ["", " ci", "ci ", "a]b", "a[b", "a\nb"]) {
      expect(thrown(() => editProfile("", profile, OLD)).code).toBe("EINVALID");
    }
  });

  it("refuses an ambiguous profile: twice in the file, or a key set twice (any case)", () => {
    const twice = `[ci]\naws_access_key_id = ${OLD.accessKeyId}\n[other]\n[ ci ]\nregion = x\n`;
    const error = thrown(() => editProfile(twice, "ci", fakeKey()));
    expect(error.code).toBe("EINVALID");
    expect(error.message).toContain("lines 1, 4");

    const keyTwice = `[ci]\naws_access_key_id = ${OLD.accessKeyId}\nAWS_ACCESS_KEY_ID = AKIAOTHER00000000000\n`;
    const duplicate = thrown(() => editProfile(keyTwice, "ci", fakeKey()));
    expect(duplicate.code).toBe("EINVALID");
    expect(duplicate.message).toContain("aws_access_key_id twice");
    expect(exposedText(duplicate)).not.toContain(OLD.accessKeyId);
  });

  it("refuses a key whose value the AWS CLI would read as continuing on indented lines", () => {
    const text = `[ci]\naws_access_key_id = ${OLD.accessKeyId}\n\taws_secret_access_key = ${OLD.secretAccessKey}\n`;
    const error = thrown(() => editProfile(text, "ci", fakeKey()));
    expect(error.code).toBe("EINVALID");
    expect(exposedText(error)).not.toContain(OLD.secretAccessKey);
  });
});

describe("readProfile", () => {
  it.each(FIXTURES.filter((fixture) => !fixture.missing))("reads the key held before: $name", (fixture) => {
    expect(readProfile(fixture.before, fixture.profile)).toEqual(fixture.held);
  });

  it("lists the profiles present when the profile is missing", () => {
    const error = thrown(() => readProfile("[default]\nregion = x\n[ prod ]\n", "ci"));
    expect(error.code).toBe("ENOTFOUND");
    expect(error.message).toContain("default, prod");
    expect(thrown(() => readProfile("# nothing\n", "ci")).message).toContain("no profiles");
  });

  it("a profile whose values are blank holds no key", () => {
    expect(readProfile("[ci]\naws_access_key_id =\naws_secret_access_key = ; later\n", "ci")).toBeUndefined();
  });

  it("values end before an inline comment but include # or ; that follow no whitespace", () => {
    const text = "[ci]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA ;c\naws_secret_access_key = abc#def;ghi\t# note\n";
    expect(readProfile(text, "ci")).toEqual({ accessKeyId: "AKIAAAAAAAAAAAAAAAAA", secretAccessKey: "abc#def;ghi" });
  });
});

import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { editProfile, readProfile } from "@keyup/store-ini";
import { externalDataInterceptor, loadSharedConfigFiles } from "@smithy/core/config";
import { describe, expect, it } from "vitest";
import { profilesHolding } from "../src/_internal/holders.js";
import { besidePath, credentialsPath } from "../src/_internal/paths.js";
import { viewProfile } from "../src/_internal/profile.js";
import { removeKeyLines } from "../src/_internal/profile-edit.js";
import { OLD } from "./fixtures.js";
import { exposedText, fakeKey, thrown } from "./support.js";

/*
 * Cases found by mutation testing (`pnpm mutate ini-editor`, docs/testing.md): behaviour of the INI
 * editor and of the helpers its store builds on that no other unit test pinned down. Each case states
 * what a user relies on (what a file reads as, which bytes an edit keeps, which error kind and message
 * a refusal gives); the SDK's own loader is the reference where the two could disagree.
 */

const CREDENTIALS = "/nonexistent/keyup-mutants/credentials";
const CONFIG = "/nonexistent/keyup-mutants/config";
externalDataInterceptor.interceptFile(CONFIG, "");

/** The profiles of `text` as the AWS SDK for JavaScript's loader reads them (from memory). */
async function sdkProfiles(text: string): Promise<Record<string, Record<string, string | undefined>>> {
  externalDataInterceptor.interceptFile(CREDENTIALS, text);
  const { credentialsFile } = await loadSharedConfigFiles({ filepath: CREDENTIALS, configFilepath: CONFIG, ignoreCache: true });
  return credentialsFile;
}

const keyLines = (key: { accessKeyId: string; secretAccessKey: string }, eol = "\n") =>
  `aws_access_key_id = ${key.accessKeyId}${eol}aws_secret_access_key = ${key.secretAccessKey}${eol}`;

describe("readProfile refuses profiles keyup must not rotate, naming why without a secret", () => {
  it.each(["aws_session_token", "aws_security_token"])("temporary credentials (%s) are EUNSUPPORTED", (name) => {
    const text = `[ci]\n${keyLines(OLD)}${name} = FQoGZXIvYXdzEXAMPLETOKEN\n`;
    const error = thrown(() => readProfile(text, "ci"));
    expect(error.code).toBe("EUNSUPPORTED");
    expect(error.message).toBe(`profile "ci" holds ${name}: temporary credentials cannot be rotated`);
    expect(exposedText(error)).not.toContain(OLD.secretAccessKey);
    expect(exposedText(error)).not.toContain("FQoGZXIvYXdzEXAMPLETOKEN");
  });

  it("an empty session token is no token: the key is read", () => {
    expect(readProfile(`[ci]\n${keyLines(OLD)}aws_session_token =\n`, "ci")).toEqual(OLD);
  });

  it("a role profile names its source_profile as the one to rotate", () => {
    const error = thrown(() => readProfile("[ci]\nrole_arn = arn:aws:iam::123456789012:role/ci\nsource_profile = base\n", "ci"));
    expect(error.code).toBe("EUNSUPPORTED");
    expect(error.message).toBe(`profile "ci" uses role_arn, so it does not hold an IAM user's access key; rotate the key of its source_profile "base" instead`);
  });

  it.each([
    ["credential_process = /usr/bin/get-creds", "credential_process"],
    ["credential_source = Ec2InstanceMetadata", "credential_source"],
    ["web_identity_token_file = /var/token", "web_identity_token_file"],
    ["SSO_Start_URL = https://example.awsapps.com/start", "sso_start_url"],
    ["sso_session = corp", "sso_session"],
  ])("%s is EUNSUPPORTED, with no source_profile hint", (line, name) => {
    const error = thrown(() => readProfile(`[ci]\nregion = eu-west-1\n${line}\n`, "ci"));
    expect(error.code).toBe("EUNSUPPORTED");
    expect(error.message).toBe(`profile "ci" uses ${name}, so it does not hold an IAM user's access key`);
  });

  it("a profile with only a source_profile names it too", () => {
    const error = thrown(() => readProfile("[ci]\nsource_profile = base\n", "ci"));
    expect(error.code).toBe("EUNSUPPORTED");
    expect(error.message).toBe(
      `profile "ci" uses source_profile, so it does not hold an IAM user's access key; rotate the key of its source_profile "base" instead`,
    );
  });

  it("a setting that only contains sso_ is not an SSO profile", () => {
    expect(readProfile(`[ci]\nmy_sso_note = x\n${keyLines(OLD)}`, "ci")).toEqual(OLD);
  });

  it("half a key is EINVALID and names the half that is missing", () => {
    const idOnly = thrown(() => readProfile(`[ci]\naws_access_key_id = ${OLD.accessKeyId}\naws_secret_access_key =\n`, "ci"));
    expect(idOnly.code).toBe("EINVALID");
    expect(idOnly.message).toBe(`profile "ci" sets aws_access_key_id but no aws_secret_access_key`);

    const secretOnly = thrown(() => readProfile(`[ci]\naws_secret_access_key = ${OLD.secretAccessKey}\n`, "ci"));
    expect(secretOnly.code).toBe("EINVALID");
    expect(secretOnly.message).toBe(`profile "ci" sets aws_secret_access_key but no aws_access_key_id`);
    expect(exposedText(secretOnly)).not.toContain(OLD.secretAccessKey);
  });

  it("a missing profile lists each profile present once, in file order", () => {
    const error = thrown(() => readProfile("[b]\n[a]\n[b]\n[ c ]\n", "ci"));
    expect(error.code).toBe("ENOTFOUND");
    expect(error.message).toBe(`profile "ci" not found (profiles present: b, a, c)`);
    expect(thrown(() => readProfile("", "ci")).message).toBe(`profile "ci" not found (it has no profiles)`);
  });
});

describe("refusals name the lines a user must fix", () => {
  it("a profile three times", () => {
    const error = thrown(() => editProfile("[ci]\n[a]\n[ci]\n[b]\n[ci]\n", "ci", fakeKey()));
    expect(error.code).toBe("EINVALID");
    expect(error.message).toBe(`profile "ci" appears 3 times (lines 1, 3, 5): refusing to guess which one holds the key`);
  });

  it("a key set twice, in any case", () => {
    const text = `[ci]\nregion = x\naws_secret_access_key = ${OLD.secretAccessKey}\n\nAws_Secret_Access_Key = ${OLD.secretAccessKey}\n`;
    const error = thrown(() => readProfile(text, "ci"));
    expect(error.code).toBe("EINVALID");
    expect(error.message).toBe(`profile "ci" sets aws_secret_access_key twice (lines 3 and 5): refusing to guess which one counts`);
    expect(exposedText(error)).not.toContain(OLD.secretAccessKey);
  });

  it("a key continued on more-indented lines, with its line", () => {
    const text = `[ci]\nregion = x\naws_secret_access_key = ${OLD.secretAccessKey}\n  more\naws_access_key_id = ${OLD.accessKeyId}\n`;
    const error = thrown(() => editProfile(text, "ci", fakeKey()));
    expect(error.code).toBe("EINVALID");
    expect(error.message).toContain("aws_secret_access_key on line 3 is followed by more-indented lines");
  });

  it("an indented setting after a key at the same indentation is no continuation", () => {
    const text = `[ci]\n  aws_access_key_id = ${OLD.accessKeyId}\n  aws_secret_access_key = ${OLD.secretAccessKey}\n  region = x\n`;
    expect(readProfile(text, "ci")).toEqual(OLD);
  });

  it("a profile name with a carriage return, or that is not a string, is EINVALID", () => {
    expect(thrown(() => editProfile("", "a\rb", OLD)).code).toBe("EINVALID");
    const error = thrown(() => editProfile("", 42 as unknown as string, OLD));
    expect(error.code).toBe("EINVALID");
    expect(error.message).toBe("invalid profile name number: it must be non-empty, without outer whitespace, brackets or line breaks");
    expect(readProfile(editProfile("", "a b", OLD), "a b")).toEqual(OLD);
  });

  it("a refused string name is quoted in the message, as JSON shows it (stray spaces and line breaks visible)", () => {
    const rule = "it must be non-empty, without outer whitespace, brackets or line breaks";
    expect(thrown(() => editProfile("", "a\rb", OLD)).message).toBe(`invalid profile name "a\\rb": ${rule}`);
    expect(thrown(() => editProfile("", " ci", OLD)).message).toBe(`invalid profile name " ci": ${rule}`);
    expect(thrown(() => editProfile("", "[ci]", OLD)).message).toBe(`invalid profile name "[ci]": ${rule}`);
  });

  it("a key that is not an access key pair is EBADKEY, naming the profile", () => {
    const error = thrown(() => editProfile("", "ci", { accessKeyId: "nope", secretAccessKey: "x" }));
    expect(error.code).toBe("EBADKEY");
    expect(error.message).toBe(`refusing to write a value that is not an access key pair into profile "ci"`);
  });
});

describe("lines read as the SDK reads them", () => {
  it.each([
    ["spaces", "  "],
    ["a tab", "\t"],
    ["a vertical tab", "\v"],
    ["a form feed", "\f"],
    ["a stray carriage return", "\r"],
    ["a no-break space", "\u00a0"],
    ["an ideographic space", "\u3000"],
  ])("a header indented by %s is a header", async (_, space) => {
    const text = `[other]\nregion = x\n${space}[ci]\n${keyLines(OLD)}`;
    expect((await sdkProfiles(text)).ci).toEqual({ aws_access_key_id: OLD.accessKeyId, aws_secret_access_key: OLD.secretAccessKey });
    expect(readProfile(text, "ci")).toEqual(OLD);
    const key = fakeKey();
    expect(editProfile(text, "ci", key)).toBe(`[other]\nregion = x\n${space}[ci]\n${keyLines(key)}`);
  });

  it("a line of non-space characters before `[` is no header", async () => {
    const text = `[ci]\n${keyLines(OLD)}é[ci]\n`;
    expect(Object.keys(await sdkProfiles(text))).toEqual(["ci"]);
    expect(readProfile(text, "ci")).toEqual(OLD);
  });

  it("`[]` is a header: the keys after it are not the profile's", async () => {
    const text = `[ci]\n${keyLines(OLD)}[]\n${keyLines(fakeKey())}`;
    expect((await sdkProfiles(text)).ci?.aws_access_key_id).toBe(OLD.accessKeyId);
    expect(readProfile(text, "ci")).toEqual(OLD);
  });

  it("a line that only starts with `[` or only ends with `]` is no header", async () => {
    const text = `[ci]\nregion = [eu-west-1]\n[other\n${keyLines(OLD)}other]\n`;
    expect(Object.keys(await sdkProfiles(text))).toEqual(["ci"]);
    expect(readProfile(text, "ci")).toEqual(OLD);
    expect(thrown(() => readProfile(text, "other")).message).toBe(`profile "other" not found (profiles present: ci)`);
  });

  it("readProfile with the empty name reads the `[]` section, and returns (editProfile refuses the name)", () => {
    const text = `[a]\nregion = x\n[]\n${keyLines(OLD)}`;
    expect(readProfile(text, "")).toEqual(OLD);
    expect(thrown(() => readProfile("[a]\n", "")).message).toBe(`profile "" not found (profiles present: a)`);
    expect(thrown(() => editProfile(text, "", fakeKey())).code).toBe("EINVALID");
  });

  it("a key's value continues over a blank line, as configparser reads it", () => {
    const text = `[ci]\naws_access_key_id = ${OLD.accessKeyId}\n\n  more\naws_secret_access_key = ${OLD.secretAccessKey}\n`;
    expect(thrown(() => readProfile(text, "ci")).message).toContain("aws_access_key_id on line 2 is followed by more-indented lines");
  });

  it("a header's name is trimmed, and a comment after it is not part of it", () => {
    const text = `[ \tci\t ] ; the CI user\n${keyLines(OLD)}`;
    expect(readProfile(text, "ci")).toEqual(OLD);
  });

  it("commented-out keys are neither read nor edited", async () => {
    const text = `[ci]\n# aws_access_key_id = AKIAOLDOLDOLDOLD9999\n;aws_secret_access_key = oldsecret\n  # aws_session_token = x\n${keyLines(OLD)}`;
    expect((await sdkProfiles(text)).ci).toEqual({ aws_access_key_id: OLD.accessKeyId, aws_secret_access_key: OLD.secretAccessKey });
    expect(readProfile(text, "ci")).toEqual(OLD);
    const key = fakeKey();
    expect(editProfile(text, "ci", key)).toBe(text.replace(keyLines(OLD), keyLines(key)));
  });

  it("lines without a name before `=` are skipped, however many", async () => {
    // A half-typed `sso_start_url` without `=` is no setting either (the SDK skips it too).
    const text = `[ci]\n= junk\n=more junk\n  = x\njunk without equals\nsso_start_url\n${keyLines(OLD)}`;
    expect((await sdkProfiles(text)).ci).toEqual({ aws_access_key_id: OLD.accessKeyId, aws_secret_access_key: OLD.secretAccessKey });
    expect(readProfile(text, "ci")).toEqual(OLD);
  });

  it("the profile's name elsewhere in the file (values, comments, other headers) does not confuse the search", () => {
    const key = fakeKey();
    const before = `# ci keys below\n[ci-old]\nnote = ci\n[x]\nci_role = ci ci\nci\n[ci]\n${keyLines(OLD)}[after]\nname = ci\n# [ci]\nci = 1\n`;
    expect(readProfile(before, "ci")).toEqual(OLD);
    expect(editProfile(before, "ci", key)).toBe(before.replace(keyLines(OLD), keyLines(key)));
  });

  it("a header found by its name on the last line, without a newline", () => {
    const text = "[a]\nx = ci\n[ci]";
    expect(readProfile(text, "ci")).toBeUndefined();
    const key = fakeKey();
    expect(editProfile(text, "ci", key)).toBe(`[a]\nx = ci\n[ci]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}`);
  });

  it("a file of thousands of lines: the profile near the end, the one at the start, and the one in the middle", () => {
    const profiles = Array.from({ length: 1500 }, (_, i) => `[p${i}]\naws_access_key_id = AKIAP${String(i).padStart(15, "0")}\nregion = r${i}\n`);
    const text = `${profiles.join("")}[ci]\n${keyLines(OLD)}`;
    expect(readProfile(text, "ci")).toEqual(OLD);
    expect(thrown(() => readProfile(text, "p0")).code).toBe("EINVALID");
    expect(thrown(() => readProfile(text, "p1200")).message).toBe(`profile "p1200" sets aws_access_key_id but no aws_secret_access_key`);
    const key = fakeKey();
    expect(editProfile(text, "ci", key)).toBe(`${profiles.join("")}[ci]\n${keyLines(key)}`);
    const middle = editProfile(text, "p750", key);
    expect(middle).toBe(
      text.replace(
        "[p750]\naws_access_key_id = AKIAP000000000000750\nregion = r750\n",
        `[p750]\naws_access_key_id = ${key.accessKeyId}\nregion = r750\naws_secret_access_key = ${key.secretAccessKey}\n`,
      ),
    );
  });

  it("a key inserted after a line ending unlike the file's first: that line keeps its ending, the new line takes the file's", async () => {
    const key = fakeKey();
    const text = `[a]\r\nx = 1\r\n[ci]\naws_access_key_id = ${OLD.accessKeyId}\n[b]\r\n`;
    const edited = editProfile(text, "ci", key);
    expect(edited).toBe(`[a]\r\nx = 1\r\n[ci]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\r\n[b]\r\n`);
    expect((await sdkProfiles(edited)).ci).toEqual({ aws_access_key_id: key.accessKeyId, aws_secret_access_key: key.secretAccessKey });
  });

  it("an empty value with blanks after `=` is filled in right after `=`, keeping the blanks after it", () => {
    const key = fakeKey();
    const text = "[ci]\naws_access_key_id =   \naws_secret_access_key=\t\n";
    expect(editProfile(text, "ci", key)).toBe(`[ci]\naws_access_key_id = ${key.accessKeyId}   \naws_secret_access_key= ${key.secretAccessKey}\t\n`);
  });

  it("an empty value before an inline comment with no blank after `=`", () => {
    const key = fakeKey();
    const text = "[ci]\naws_access_key_id=\t# id\naws_secret_access_key =  ; secret\n";
    expect(editProfile(text, "ci", key)).toBe(`[ci]\naws_access_key_id= ${key.accessKeyId}\t# id\naws_secret_access_key = ${key.secretAccessKey} ; secret\n`);
  });
});

describe("removeKeyLines (the INI store's restore of a profile that held no key)", () => {
  const present = (text: string) => {
    const view = viewProfile(text, "ci", "");
    if (view.kind !== "present") throw new Error("profile missing");
    return view;
  };

  it("removes a profile appended to the file, with its blank separator: the original bytes come back", () => {
    for (const original of ["[default]\nregion = x\n", "\uFEFF[default]\r\nregion = x\r\n", "[default]\r\nregion = x\r\n\r\n# end\r\n"]) {
      const edited = editProfile(original, "ci", fakeKey());
      expect(removeKeyLines(present(edited), true)).toBe(original);
    }
    expect(removeKeyLines(present(editProfile("", "ci", fakeKey())), true)).toBe("");
    // The final newline the section was appended after stays (the store restores the backup's exact
    // bytes when nothing else changed; this is its fallback).
    expect(removeKeyLines(present(editProfile("[default]\nregion = x", "ci", fakeKey())), true)).toBe("[default]\nregion = x\n");
  });

  it("removes a keys-only profile in the middle, with its blank lines, not the lines above it", () => {
    const text = `[a]\nx = 1\n\n[ci]\n${keyLines(OLD)}\n[b]\ny = 2\n`;
    expect(removeKeyLines(present(text), true)).toBe("[a]\nx = 1\n\n[b]\ny = 2\n");
  });

  it("keeps the header and other settings of a profile that has more than the key", () => {
    const text = `[ci]\r\n# mine\r\n${keyLines(OLD, "\r\n")}region = x\r\n[b]\r\n`;
    expect(removeKeyLines(present(text), true)).toBe("[ci]\r\n# mine\r\nregion = x\r\n[b]\r\n");
    expect(removeKeyLines(present(`[ci]\n${keyLines(OLD)}`), false)).toBe("[ci]\n");
  });

  it("keeps a missing final newline, and returns the text as it was when there is nothing to remove", () => {
    const text = `[a]\nx = 1\n[ci]\nregion = y\naws_access_key_id = ${OLD.accessKeyId}`;
    expect(removeKeyLines(present(text), false)).toBe("[a]\nx = 1\n[ci]\nregion = y");
    const mixed = `[a]\r\nx = 1\n[ci]\r\n${keyLines(OLD, "\r\n")}region = y\n`;
    expect(removeKeyLines(present(mixed), true)).toBe("[a]\r\nx = 1\n[ci]\r\nregion = y\n");
    const none = "[ci]\nregion = y";
    expect(removeKeyLines(present(none), false)).toBe(none);
    expect(removeKeyLines(present("[a]\n\n[ci]\nregion = y\n"), true)).toBe("[a]\n\n[ci]\nregion = y\n");
  });

  it("a removed last section takes every blank line above it, up to the first line of the file", () => {
    expect(removeKeyLines(present(`[a]\nx = 1\n\n\n[ci]\n${keyLines(OLD)}`), true)).toBe("[a]\nx = 1\n");
    expect(removeKeyLines(present(`\n\n[ci]\n${keyLines(OLD)}`), true)).toBe("");
    expect(removeKeyLines(present(`\uFEFF\r\n[ci]\r\n${keyLines(OLD, "\r\n")}`), true)).toBe("\uFEFF");
  });
});

describe("profilesHolding (other profiles a fleet must know hold the same key)", () => {
  it("finds each other profile whose aws_access_key_id is the key, once, in file order", () => {
    const text = [
      "aws_access_key_id = AKIA1",
      "[a]",
      "aws_access_key_id = AKIA1",
      "[c]",
      "aws_access_key_id = AKIA12",
      "[b]",
      "AWS_Access_Key_ID=AKIA1 # AKIA1 again",
      "[d]",
      "# aws_access_key_id = AKIA1",
      "note = AKIA1",
      "aws_secret_access_key = AKIA1",
      "[b]",
      "aws_access_key_id = AKIA1",
      "[e]",
      "aws_access_key_id = AKIA1",
    ].join("\n");
    expect(profilesHolding(text, "a", "AKIA1")).toEqual(["b", "e"]);
    expect(profilesHolding(text, "zzz", "AKIA1")).toEqual(["a", "b", "e"]);
    expect(profilesHolding(`\uFEFF${text}`, "b", "AKIA12")).toEqual(["c"]);
    expect(profilesHolding(text, "a", "AKIA9")).toEqual([]);
    expect(profilesHolding("[x]\naws_access_key_id = AKIA1", "a", "AKIA1")).toEqual(["x"]);
  });

  it("a holder's key line further down its section, below other lines, is found under that section", () => {
    const text = `[x]\nregion = r\n\n# the CI key\naws_access_key_id = AKIA1\n[y]\nregion = s\n[z]\nregion = t\naws_access_key_id = AKIA1`;
    expect(profilesHolding(text, "a", "AKIA1")).toEqual(["x", "z"]);
  });

  it("an empty id: only aws_access_key_id lines count, not comments, junk or other empty settings", () => {
    const text = "[a]\naws_access_key_id =\n[b]\n# aws_access_key_id =\n\njunk\nnote =\naws_secret_access_key =\n[c]\n  aws_access_key_id =\n";
    expect(profilesHolding(text, "a", "")).toEqual(["c"]);
  });

  it("an empty id: the other profiles whose id is empty", () => {
    const text =
      "aws_access_key_id =\n[a]\naws_access_key_id =\n[b]\naws_access_key_id = \n[c]\nregion = x\n[d]\naws_access_key_id = AKIA1\n[e]\nAWS_ACCESS_KEY_ID=";
    expect(profilesHolding(text, "a", "")).toEqual(["b", "e"]);
  });
});

describe("credentialsPath and besidePath", () => {
  it("the path given, else AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials; `~` is the home folder", () => {
    expect(credentialsPath("/x/creds", { AWS_SHARED_CREDENTIALS_FILE: "/y/creds" })).toBe("/x/creds");
    expect(credentialsPath(undefined, { AWS_SHARED_CREDENTIALS_FILE: "/y/creds" })).toBe("/y/creds");
    expect(credentialsPath(undefined, { AWS_SHARED_CREDENTIALS_FILE: "" })).toBe(join(homedir(), ".aws", "credentials"));
    expect(credentialsPath(undefined, {})).toBe(join(homedir(), ".aws", "credentials"));
    expect(credentialsPath("~", {})).toBe(homedir());
    expect(credentialsPath("~/keys/creds", {})).toBe(join(homedir(), "keys", "creds"));
    expect(credentialsPath("~other/creds", {})).toBe(resolve("~other/creds"));
    expect(credentialsPath("a/../creds", {})).toBe(resolve("creds"));
  });

  it("one file per profile beside the credentials file; names are percent-encoded, so none escapes or collides", () => {
    expect(besidePath("/x/credentials", "backup", "ci")).toBe("/x/credentials.keyup-backup.ci");
    expect(besidePath("/x/credentials", "journal", "Team_A.prod-1")).toBe("/x/credentials.keyup-journal.Team_A.prod-1");
    expect(besidePath("/x/credentials", "backup", "../a/b")).toBe("/x/credentials.keyup-backup...%2Fa%2Fb");
    expect(besidePath("/x/credentials", "backup", "a%2Fb")).toBe("/x/credentials.keyup-backup.a%252Fb");
    expect(besidePath("/x/credentials", "backup", "é \u0001")).toBe("/x/credentials.keyup-backup.%C3%A9%20%01");
  });
});

import { listProfiles, readProfile } from "@keyup/store-ini";
import { externalDataInterceptor, loadSharedConfigFiles } from "@smithy/core/config";
import { describe, expect, it } from "vitest";
import { fakeKey } from "./support.js";

// The SDK's own loader, fed from memory (the paths are intercepted, nothing touches the disk): the
// independent reader listProfiles must agree with on which profiles a file has.
const CREDENTIALS = "/keyup-list-profiles-test/credentials";
const CONFIG = "/keyup-list-profiles-test/config";
externalDataInterceptor.interceptFile(CONFIG, "");
async function sdkProfileNames(text: string): Promise<string[]> {
  externalDataInterceptor.interceptFile(CREDENTIALS, text);
  const { credentialsFile } = await loadSharedConfigFiles({ filepath: CREDENTIALS, configFilepath: CONFIG, ignoreCache: true });
  return Object.keys(credentialsFile);
}

const a = fakeKey();
const b = fakeKey();
const pair = (key: { accessKeyId: string; secretAccessKey: string }, eol = "\n") =>
  `aws_access_key_id = ${key.accessKeyId}${eol}aws_secret_access_key = ${key.secretAccessKey}${eol}`;

describe("listProfiles", () => {
  it("lists every profile in file order, as the SDK's loader reads the file", async () => {
    const text = `# mine\n[default]\n${pair(a)}\n[ci]\nregion = eu-west-1\n${pair(b)}[sso]\nsso_session = corp\n`;
    expect(listProfiles(text)).toEqual(["default", "ci", "sso"]);
    expect((await sdkProfileNames(text)).sort()).toEqual(listProfiles(text).sort());
  });

  it("names a profile as readProfile does: spacing inside the brackets trimmed, an empty profile listed", () => {
    const text = `[ ci ]\n${pair(a)}[empty]\n`;
    expect(listProfiles(text)).toEqual(["ci", "empty"]);
    expect(readProfile(text, "ci")).toEqual(a);
    expect(readProfile(text, "empty")).toBeUndefined();
  });

  it("understands a BOM and CRLF line endings, and takes no comment for a header", async () => {
    const text = `\uFEFF[first]\r\n${pair(a, "\r\n")}# [not-a-profile]\r\n; [nor-this]\r\n[second]\r\n${pair(b, "\r\n")}`;
    expect(listProfiles(text)).toEqual(["first", "second"]);
    expect((await sdkProfileNames(text)).sort()).toEqual(["first", "second"]);
  });

  it("lists a profile given twice once (readProfile then refuses it), and nothing for a file without profiles", () => {
    const text = `[ci]\n${pair(a)}[other]\n${pair(b)}[ci]\nregion = x\n`;
    expect(listProfiles(text)).toEqual(["ci", "other"]);
    expect(() => readProfile(text, "ci")).toThrow(expect.objectContaining({ code: "EINVALID" }));
    expect(listProfiles("")).toEqual([]);
    expect(listProfiles("# only a comment\nkey = value\n")).toEqual([]);
  });

  it("holdingKey: only profiles with an access key id and no session token, key names in any case", () => {
    const text = [
      `[long-term]\n${pair(a)}`,
      `[temporary]\n${pair(b)}aws_session_token = token\n`,
      `[SHOUTING]\nAWS_ACCESS_KEY_ID = ${a.accessKeyId}\nAWS_SECRET_ACCESS_KEY = ${a.secretAccessKey}\n`,
      "[role]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = long-term\n",
      `[split]\nregion = x\n[split]\n${pair(b)}`,
    ].join("");
    expect(listProfiles(text, { holdingKey: true })).toEqual(["long-term", "SHOUTING", "split"]);
    // Every listed profile that is not ambiguous reads as a key.
    for (const profile of ["long-term", "SHOUTING"]) expect(readProfile(text, profile)).toBeDefined();
  });

  it("reads 20,000 profiles in one pass", { timeout: 60_000 }, () => {
    const text = Array.from({ length: 20_000 }, (_, i) => `[p${i}]\n${pair(a)}`).join("");
    const names = listProfiles(text, { holdingKey: true });
    expect(names).toHaveLength(20_000);
    expect([names[0], names[19_999]]).toEqual(["p0", "p19999"]);
  });
});

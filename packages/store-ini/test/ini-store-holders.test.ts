import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { iniStore, readProfile } from "@keyup/store-ini";
import { describe, expect, it } from "vitest";
import { fakeKey, tempDir } from "./support.js";

const KEY = fakeKey();
const OTHER = fakeKey();

async function holdersIn(text: string, profile: string, accessKeyId = KEY.accessKeyId): Promise<readonly string[]> {
  const path = join(await tempDir(), "credentials");
  await writeFile(path, text, { mode: 0o600 });
  const named = await iniStore({ profile, path }).otherHolders(accessKeyId);
  return named.map((name) => name.slice(name.lastIndexOf("#") + 1));
}

// The store finds other holders by searching the text for the key id (issue 14): these cases pin that
// every profile whose aws_access_key_id value is the id counts, and nothing else does.
describe("iniStore otherHolders: profiles that hold the same key id", () => {
  it("lists every other profile whose aws_access_key_id is the id, in file order, each once, not the store's own", async () => {
    const text = [
      "[b]",
      `aws_access_key_id = ${KEY.accessKeyId}`,
      "[ci]",
      `AWS_Access_Key_ID=${KEY.accessKeyId} # inline comment`,
      "[a]",
      `aws_access_key_id = ${OTHER.accessKeyId}`,
      "[  spaced  ]",
      `  aws_access_key_id\t=\t${KEY.accessKeyId}`,
      "[b]",
      `aws_access_key_id = ${KEY.accessKeyId}`,
      "",
    ].join("\r\n");
    expect(await holdersIn(text, "ci")).toEqual(["b", "spaced"]);
    expect(await holdersIn(text, "b")).toEqual(["ci", "spaced"]);
    expect(await holdersIn(text, "ci", OTHER.accessKeyId)).toEqual(["a"]);
  });

  it("does not count the id in comments, in other keys, in a longer value, or above every section", async () => {
    const text = [
      `aws_access_key_id = ${KEY.accessKeyId}`,
      "[ci]",
      `aws_access_key_id = ${KEY.accessKeyId}`,
      "[notes]",
      `# was ${KEY.accessKeyId}`,
      `previous_key = ${KEY.accessKeyId}`,
      `aws_access_key_id = ${KEY.accessKeyId}X`,
      `[${KEY.accessKeyId}]`,
      "region = eu-west-1",
      "",
    ].join("\n");
    expect(await holdersIn(text, "ci")).toEqual([]);
  });

  it("finds holders in a 20,000-profile file, and one profile of it is read by name", async () => {
    const profiles = Array.from({ length: 20_000 }, (_, i) => `[p${i}]\naws_access_key_id = AKIA${String(i).padStart(16, "0")}\n`);
    profiles[123] = `[p123]\naws_access_key_id = ${KEY.accessKeyId}\naws_secret_access_key = ${KEY.secretAccessKey}\n`;
    profiles[19_999] = `[p19999]\naws_access_key_id = ${KEY.accessKeyId}\n`;
    const text = profiles.join("\n");
    expect(await holdersIn(text, "p123")).toEqual(["p19999"]);
    // p1 is a prefix of p10, p100, …: only the header named exactly p123 counts.
    expect(readProfile(text, "p123")).toEqual(KEY);
    expect(() => readProfile(`${text}[p123]\n`, "p123")).toThrow(/appears 2 times/);
  });
});

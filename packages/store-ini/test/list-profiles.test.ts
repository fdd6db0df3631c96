import { listProfiles, readProfile } from "@keyup/store-ini";
import { expect, test } from "vitest";

test("lists every profile once, in file order, as the store reads the names", () => {
  const text = "\uFEFF# mine\r\n[default]\r\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\r\n[ ci ] ; spaced\r\nregion = x\r\n[profile-2]\r\n[default]\r\n";
  expect(listProfiles(text)).toEqual(["default", "ci", "profile-2"]);
});

test("an empty file and a file of comments list nothing", () => {
  expect(listProfiles("")).toEqual([]);
  expect(listProfiles("# [not-a-profile]\n; [nor-this]\n")).toEqual([]);
});

test("a value that looks like a section never lists as a profile", () => {
  const text = "[a]\nnote = [b]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = s\n";
  expect(listProfiles(text)).toEqual(["a"]);
});

test("every listed name is one readProfile finds", () => {
  const text = "[ spaced ]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = abc\n[empty]\n";
  for (const name of listProfiles(text)) expect(() => readProfile(text, name)).not.toThrow();
  expect(readProfile(text, "spaced")?.accessKeyId).toBe("AKIAAAAAAAAAAAAAAAAA");
});

import { type CliIo, runCli } from "@keyup/cli";
import { memoryStore, type RotateOptions, rotate } from "@keyup/core";
import { expect, test } from "vitest";

// One option schema: the CLI and the library enforce the same rule with the same words, each naming
// the option its own way. A rule changed in one place changes in both, and this test shows it.
const KEY = { accessKeyId: "AKIAOPTIONSCHEMA0001", secretAccessKey: "schema/secret+000000000000000000000001" };
const FLAG_TO_OPTION: [string, string][] = [
  ["--old-key", "oldKey"],
  ["--keep-old-for", "keepOldForMs"],
  ["--if-older-than", "minAgeMs"],
  ["--verify-timeout", "verifyTimeoutMs"],
  ["--description", "description"],
  ["--mfa-code", "the code from mfa.tokenCode()"],
];

async function cliError(argv: string[]): Promise<{ code: number; line: string }> {
  const stderr: string[] = [];
  const io: CliIo = { stdout: () => undefined, stderr: (s) => stderr.push(s), env: {}, interactive: false };
  const code = await runCli(["up", "--profile", "p", ...argv], io);
  return { code, line: stderr.join("").trim() };
}

async function libraryError(options: Partial<RotateOptions>): Promise<string> {
  const result = await rotate({ store: memoryStore({ initial: KEY }), endpoint: "http://127.0.0.1:1", journal: false, ...options });
  expect(result.isErr() && result.error.kind).toBe("config");
  return result.isErr() ? result.error.message : "";
}

/** The CLI's words with each flag replaced by the library's name for it. */
const inLibraryNames = (text: string) => FLAG_TO_OPTION.reduce((t, [flag, option]) => t.replaceAll(flag, option), text.replace(/^keyup: /, ""));

test.each([
  { what: "an old-key action that does not exist", argv: ["--old-key", "purge"], options: { oldKey: "purge" as "delete" } },
  {
    what: "a grace period with the old key deleted",
    argv: ["--keep-old-for", "7d", "--old-key", "delete"],
    options: { keepOldForMs: 7 * 86_400_000, oldKey: "delete" as const },
  },
  {
    what: "a grace period with the old key kept",
    argv: ["--keep-old-for", "1h", "--old-key", "keep"],
    options: { keepOldForMs: 3_600_000, oldKey: "keep" as const },
  },
  { what: "a description IAM refuses", argv: ["--description", "a;b"], options: { description: "a;b" } },
])("$what: the same error from the CLI (exit 2) and the library", async ({ argv, options }) => {
  const cli = await cliError(argv);
  expect(cli.code).toBe(2);
  expect(inLibraryNames(cli.line)).toBe(await libraryError(options));
});

test.each([
  { what: "a verify timeout over an hour", argv: ["--verify-timeout", "7200"], options: { verifyTimeoutMs: 7_200_000 } },
  { what: "a verify timeout of zero", argv: ["--verify-timeout", "0"], options: { verifyTimeoutMs: 0 } },
])("$what: the same rule from the CLI (in seconds) and the library (in ms)", async ({ argv, options }) => {
  const cli = await cliError(argv);
  expect(cli.code).toBe(2);
  const rule = (text: string) => text.replace(/, got .*$/, "");
  expect(rule(inLibraryNames(cli.line))).toBe(rule(await libraryError(options)));
  expect(cli.line).toContain(`got "${argv[1]}"`);
});

test("a malformed MFA code: the same rule from --mfa-code and from mfa.tokenCode(), and the code is never echoed", async () => {
  const cli = await cliError(["--mfa-code", "12ab"]);
  expect(cli.code).toBe(2);
  const library = await libraryError({ mfa: { serialNumber: "arn:aws:iam::123456789012:mfa/me", tokenCode: async () => "12ab" } });
  expect(inLibraryNames(cli.line)).toBe(library);
  expect(`${cli.line}${library}`).not.toContain("12ab");
});

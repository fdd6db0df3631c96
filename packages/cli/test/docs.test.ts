import { readFile } from "node:fs/promises";
import { HELP } from "@keyup/cli";
import { expect, test } from "vitest";

// docs/cli.md is the CLI reference: every flag and exit code --help prints must be documented there,
// and the docs must not describe flags or codes the command does not have.
const docs = readFile(new URL("../../../docs/cli.md", import.meta.url), "utf8");

const flagsOf = (text: string) => new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z-]+)/g)].map((m) => m[1]));

test("every flag in --help is documented in docs/cli.md, and no other", async () => {
  const helpFlags = flagsOf(HELP);
  const docFlags = flagsOf((await docs).split("## Exit codes")[0] ?? "");
  expect([...helpFlags].filter((f) => !docFlags.has(f)).sort()).toEqual([]);
  expect([...docFlags].filter((f) => !helpFlags.has(f)).sort()).toEqual([]);
  expect(helpFlags.size).toBeGreaterThan(25);
});

test("every exit code in --help is documented, with the same codes", async () => {
  const helpCodes = [...(HELP.split("Exit codes:")[1] ?? "").matchAll(/^\s+(\d+)\s/gm)].map((m) => m[1]);
  const docCodes = [...((await docs).split("## Exit codes")[1] ?? "").matchAll(/^\| (\d+)\s+\|/gm)].map((m) => m[1]);
  expect(docCodes).toEqual(helpCodes);
  expect(helpCodes).toEqual(["0", "1", "2", "3", "4", "5", "6"]);
});

test("every operation is documented", async () => {
  for (const op of ["list", "up", "status", "recover", "cleanup"]) expect(await docs).toContain(`| \`${op}\``);
});

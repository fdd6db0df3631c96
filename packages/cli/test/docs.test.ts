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
  expect(helpCodes).toEqual(["0", "1", "2", "3", "4", "5", "6", "7"]);
});

test("every operation is documented", async () => {
  for (const op of ["list", "up", "status", "recover", "cleanup"]) expect(await docs).toContain(`| \`${op}\``);
});

// Guides link to each other, to examples and to source files: a renamed file or heading must not
// leave a dead link behind.
const root = new URL("../../../", import.meta.url);

/** GitHub's heading anchors: lowercased, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, "")
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .replace(/\s/g, "-");

test("every relative link in README.md, docs/, examples/ and package READMEs points at a file that exists, and at a heading it has", async () => {
  const { readdir } = await import("node:fs/promises");
  const { existsSync } = await import("node:fs");
  const { dirname, join } = await import("node:path");
  const base = root.pathname;
  const pages = ["README.md", ...(await readdir(join(base, "docs"))).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
  for (const dir of ["examples", "packages"]) {
    for (const entry of await readdir(join(base, dir), { recursive: true })) {
      if (String(entry).endsWith("README.md") && !String(entry).includes("node_modules")) pages.push(`${dir}/${entry}`);
    }
  }
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages) {
    const text = (await readFile(join(base, page), "utf8")).replace(/```[\s\S]*?```/g, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!target || /^[a-z]+:/.test(target)) continue;
      const [path = "", anchor] = target.split("#");
      const file = path === "" ? join(base, page) : join(dirname(join(base, page)), decodeURIComponent(path));
      checked++;
      if (!existsSync(file)) {
        broken.push(`${page}: ${target} (no such file)`);
        continue;
      }
      if (anchor && file.endsWith(".md")) {
        const headings = [...(await readFile(file, "utf8")).matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? ""));
        if (!headings.includes(anchor)) broken.push(`${page}: ${target} (no heading #${anchor})`);
      }
    }
  }
  expect(broken).toEqual([]);
  expect(checked).toBeGreaterThan(50);
});

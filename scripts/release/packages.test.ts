import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { NODE_LINES } from "../../test-support/node-lines.js";

/** What every published package carries, checked in the repository (the pack-and-install test checks the tarballs). */

const root = fileURLToPath(new URL("../../", import.meta.url));
const packages = readdirSync(join(root, "packages"));
const manifest = (dir: string) => JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));

describe.each(packages)("packages/%s", (p) => {
  test("`engines` names exactly the Node.js lines the tests run on", () => {
    expect(manifest(`packages/${p}`).engines).toEqual({ node: NODE_LINES.map((l) => `^${l}.0.0`).join(" || ") });
  });

  test("carries the repository's MIT LICENSE and a README", () => {
    expect(readFileSync(join(root, "packages", p, "LICENSE"), "utf8")).toBe(readFileSync(join(root, "LICENSE"), "utf8"));
    expect(manifest(`packages/${p}`).license).toBe("MIT");
    expect(readFileSync(join(root, "packages", p, "README.md"), "utf8")).toMatch(new RegExp(`^# ${manifest(`packages/${p}`).name}\\n`));
  });
});

test("the workspace's `engines` is the packages'", () => {
  expect(manifest(".").engines).toEqual(manifest("packages/core").engines);
});

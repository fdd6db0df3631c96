import { mkdir, mkdtemp, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { stalePackages } from "./build-stale.js";

// Real files with real modification times: what `pnpm example` decides to rebuild.
async function workspace() {
  const root = await mkdtemp(join(tmpdir(), "keyup-build-stale-"));
  await writeFile(join(root, "tsup.base.ts"), "");
  for (const name of ["core", "store-ini"]) {
    await mkdir(join(root, "packages", name, "src"), { recursive: true });
    await mkdir(join(root, "packages", name, "dist"), { recursive: true });
    await writeFile(join(root, "packages", name, "package.json"), JSON.stringify({ scripts: { build: "tsup" } }));
    await writeFile(join(root, "packages", name, "src", "index.ts"), "export {};");
    await writeFile(join(root, "packages", name, "dist", "index.js"), "");
  }
  await mkdir(join(root, "packages", "no-build"), { recursive: true });
  await writeFile(join(root, "packages", "no-build", "package.json"), "{}");
  const at = (seconds: number) => new Date(1_700_000_000_000 + seconds * 1000);
  const touch = (path: string, seconds: number) => utimes(join(root, path), at(seconds), at(seconds));
  for (const f of [
    "tsup.base.ts",
    "packages/core/package.json",
    "packages/core/src/index.ts",
    "packages/store-ini/package.json",
    "packages/store-ini/src/index.ts",
  ])
    await touch(f, 0);
  await touch("packages/core/dist/index.js", 10);
  await touch("packages/store-ini/dist/index.js", 10);
  return { root, touch };
}

test("nothing changed since the last build: nothing to build", async () => {
  const { root } = await workspace();
  expect(await stalePackages(root)).toEqual([]);
});

test("a source edited after the build: only that package", async () => {
  const { root, touch } = await workspace();
  await touch("packages/store-ini/src/index.ts", 20);
  expect(await stalePackages(root)).toEqual(["store-ini"]);
});

test("the shared build settings changed, or a dist is missing: those packages", async () => {
  const { root, touch } = await workspace();
  await touch("tsup.base.ts", 20);
  expect(await stalePackages(root)).toEqual(["core", "store-ini"]);
  const fresh = await workspace();
  await writeFile(join(fresh.root, "packages", "core", "src", "new.ts"), "");
  expect(await stalePackages(fresh.root)).toEqual(["core"]);
});

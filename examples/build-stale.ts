/**
 * Builds the @keyup packages whose build output is older than their sources, and nothing else, so
 * that `pnpm example <name>` starts at once when nothing changed (it used to rebuild all six packages,
 * about 30 s, before every run).
 *
 *   pnpm exec tsx examples/build-stale.ts      (what `pnpm example` runs first)
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The modification times of the files under `dir`, recursively; none when it does not exist. */
async function mtimes(dir: string): Promise<number[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return Promise.all(entries.filter((e) => e.isFile()).map(async (e) => (await stat(join(e.parentPath, e.name))).mtimeMs));
}

/**
 * The package folders (under `root`/packages) that have a build script and whose `dist` is missing or
 * older than anything it is built from: `src/`, `package.json`, `tsup.config.ts`, and the shared
 * `tsup.base.ts` and `tsconfig.base.json` at the root.
 *
 * @example
 * ```ts
 * await stalePackages(process.cwd()); // ["core"] after an edit to packages/core/src/rotate.ts
 * ```
 */
export async function stalePackages(root: string): Promise<string[]> {
  const shared = ["tsup.base.ts", "tsconfig.base.json"].map((f) => join(root, f)).filter((f) => existsSync(f));
  const sharedTimes = await Promise.all(shared.map(async (f) => (await stat(f)).mtimeMs));
  const stale: string[] = [];
  for (const name of (await readdir(join(root, "packages"))).sort()) {
    const dir = join(root, "packages", name);
    if (!existsSync(join(dir, "package.json"))) continue;
    const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as { scripts?: Record<string, string> };
    if (!manifest.scripts?.build) continue;
    const inputs = [
      ...(await mtimes(join(dir, "src"))),
      ...sharedTimes,
      ...(await Promise.all(["package.json", "tsup.config.ts"].filter((f) => existsSync(join(dir, f))).map(async (f) => (await stat(join(dir, f))).mtimeMs))),
    ];
    const outputs = await mtimes(join(dir, "dist"));
    if (outputs.length === 0 || Math.max(...inputs) > Math.min(...outputs)) stale.push(name);
  }
  return stale;
}

// Run as a script: build what is stale, in dependency order (pnpm sorts the filtered packages).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const stale = await stalePackages(root);
  if (stale.length === 0) {
    console.error("keyup packages are built and up to date");
  } else {
    console.error(`building ${stale.join(", ")} (changed since the last build)`);
    const filters = stale.flatMap((name) => ["--filter", `./packages/${name}`]);
    const built = spawnSync("pnpm", [...filters, "build"], { cwd: root, stdio: "inherit" });
    process.exitCode = built.status ?? 1;
  }
}

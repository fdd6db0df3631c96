// Node module hooks that let a child process import this repository's TypeScript sources, the way
// vitest does for tests: `@keyup/<pkg>` maps to packages/<pkg>/src/index.ts, `./x.js` imports
// from a .ts file resolve to ./x.ts, and .ts files are transpiled with the workspace's TypeScript.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const packages = new URL("../../../", import.meta.url);

export async function resolve(specifier, context, next) {
  if (specifier === "@keyup/core/files") return { url: new URL("core/src/files/index.ts", packages).href, shortCircuit: true };
  const workspace = /^@keyup\/([a-z-]+)$/.exec(specifier);
  if (workspace) return { url: new URL(`${workspace[1]}/src/index.ts`, packages).href, shortCircuit: true };
  if (context.parentURL?.endsWith(".ts") && specifier.startsWith(".") && specifier.endsWith(".js")) {
    const source = new URL(specifier.replace(/\.js$/, ".ts"), context.parentURL);
    if (existsSync(source)) return { url: source.href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith(".ts")) return next(url, context);
  const source = await readFile(new URL(url), "utf8");
  const { outputText } = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  });
  return { format: "module", source: outputText, shortCircuit: true };
}

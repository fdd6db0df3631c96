import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

// No import circle in core: a module graph with a cycle has no order in which to read it, and the
// cycle usually means two modules each own half of one idea. Type-only imports count too.

const src = fileURLToPath(new URL("../src/", import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries
    .map(String)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

/** Relative imports and re-exports of a file, resolved to source paths. */
async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(file, "utf8");
  return [...text.matchAll(/^(?:import|export)\b[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gms)].map((m) => resolve(dirname(file), (m[1] ?? "").replace(/\.js$/, ".ts")));
}

/** Every cycle found by a depth-first walk, each as the list of files that form it. */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "closed">();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, "closed");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

test("the walker finds a cycle when there is one", () => {
  const graph = new Map([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a"]],
    ["d", ["a"]],
  ]);
  expect(cyclesOf(graph)).toEqual([["a", "b", "c", "a"]]);
});

test("packages/core/src has no import cycle", async () => {
  const files = await sourceFiles(src);
  const graph = new Map<string, string[]>();
  for (const file of files) graph.set(file, await importsOf(file));
  expect(graph.size).toBeGreaterThan(20);
  expect([...graph.values()].flat().length).toBeGreaterThan(50);
  const cycles = cyclesOf(graph).map((cycle) => cycle.map((f) => relative(src, f)).join(" -> "));
  expect(cycles).toEqual([]);
});

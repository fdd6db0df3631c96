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
 * serves every check, and @keyup/cdk gets a second, its own CDK app with aws-cdk-lib and constructs,
 * run beside the first (the doc's "For teams deploying with CDK" commands).
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const PUBLIC = ["core", "store-ini", "store-env", "store-secretsmanager", "store-github-actions", "store-test-suite", "cli"];
const version = (p: string): string => JSON.parse(readFileSync(join(root, "packages", p, "package.json"), "utf8")).version;

/**
 * The shell block between the `<!-- marker:begin -->` and `<!-- marker:end -->` comments of
 * docs/getting-started.md: `pack-and-install` for the library and CLI, `pack-and-install-cdk` for the
 * CDK construct.
 *
 * @example
 * ```ts
 * docCommands(readFileSync("docs/getting-started.md", "utf8"), "pack-and-install-cdk"); // "(cd packages/cdk && pnpm pack …"
 * ```
 */
export function docCommands(markdown: string, marker = "pack-and-install"): string {
  const block = new RegExp(`<!-- ${marker}:begin -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${marker}:end -->`).exec(markdown)?.[1];
  if (!block) throw new Error(`docs/getting-started.md has no \`\`\`sh block between the ${marker} markers`);
  return block;
}

/** The CDK construct: packed like the others, installed into its own project with its peers. */
const CDK = "cdk";
const cdkPeers = (): Record<string, string> => JSON.parse(readFileSync(join(root, "packages", CDK, "package.json"), "utf8")).peerDependencies;

let home: string;
let app: string;
let installLog: string;
let cdkApp: string;
let cdkInstallLog: string;
let moto: Emulator;
let credentials: string;
let accessKeyId: string;
let secretAccessKey: string;

beforeAll(async () => {
  for (const p of [...PUBLIC, CDK]) {
    if (!existsSync(join(root, "packages", p, "dist"))) throw new Error(`packages/${p}/dist is missing: run \`pnpm build\` first (\`pnpm test\` does)`);
  }
  home = await mkdtemp(join(tmpdir(), "keyup-pack-"));
  app = join(home, "keyup-app");
  cdkApp = join(home, "keyup-cdk-app");
  const doc = readFileSync(join(root, "docs/getting-started.md"), "utf8");
  const runDoc = async (marker: string, what: string) => {
    const started = performance.now();
    const out = await run("bash", ["-euo", "pipefail", "-c", docCommands(doc, marker)], {
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
    });
    console.log(`pack-and-install: docs/getting-started.md's ${what} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return out.stdout;
  };
  // The CDK app is a project of its own (aws-cdk-lib alone is some 180 MB), installed beside the main
  // one rather than after it; it packs into ~/keyup-packs/cdk, out of the main install's *.tgz.
  const [started, out, cdkOut] = await Promise.all([
    startMoto(),
    runDoc("pack-and-install", "commands (pack six packages, npm install)"),
    runDoc("pack-and-install-cdk", "CDK commands (pack @keyup/cdk, npm install with aws-cdk-lib and constructs)"),
  ]);
  moto = started;
  installLog = out;
  cdkInstallLog = cdkOut;
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
    const packs = (await readdir(join(home, "keyup-packs"))).filter((f) => f.endsWith(".tgz")).sort();
    expect(packs).toEqual(PUBLIC.map((p) => `keyup-${p}-${version(p)}.tgz`).sort());
    const cdkPacks = (await readdir(join(home, "keyup-packs", CDK))).map((f) => `${CDK}/${f}`);
    expect(cdkPacks).toEqual([`${CDK}/keyup-${CDK}-${version(CDK)}.tgz`]);
    for (const tgz of [...packs, ...cdkPacks]) {
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
    expect(readFileSync(join(cdkApp, "node_modules/@keyup", CDK, "LICENSE"), "utf8"), CDK).toBe(license);
  });

  describe("@keyup/cdk, in a CDK app of its own", () => {
    test("its tarball holds the prebuilt rotation handler and both builds", async () => {
      const { stdout } = await run("tar", ["-tzf", join(home, "keyup-packs", CDK, `keyup-${CDK}-${version(CDK)}.tgz`)]);
      expect(stdout.split("\n")).toEqual(
        expect.arrayContaining([
          "package/dist/handler/index.js",
          "package/dist/index.js",
          "package/dist/index.cjs",
          "package/dist/index.d.ts",
          "package/dist/index.d.cts",
        ]),
      );
      // One CommonJS file with the AWS SDK in it, not a stub that requires what the Lambda lacks.
      const handler = readFileSync(join(cdkApp, "node_modules/@keyup/cdk/dist/handler/index.js"), "utf8");
      expect(handler.length).toBeGreaterThan(100_000);
      expect(handler).not.toMatch(/require\("@keyup\//);
    });

    test("the doc installs the peers at package.json's ranges, and npm finds them satisfied", async () => {
      const commands = docCommands(readFileSync(join(root, "docs/getting-started.md"), "utf8"), "pack-and-install-cdk");
      for (const [name, range] of Object.entries(cdkPeers())) expect(commands, name).toContain(`"${name}@${range}"`);
      // `npm ls` exits non-zero on a missing or out-of-range peer; the app holds only these three.
      const { stdout } = await run("npm", ["ls", "--json"], { cwd: cdkApp, env: { ...process.env, HOME: home } });
      expect(Object.keys(JSON.parse(stdout).dependencies).sort()).toEqual(["@keyup/cdk", ...Object.keys(cdkPeers())].sort());
      expect(cdkInstallLog).not.toMatch(/ERESOLVE|peer dep/i);
    });

    test("a stack using RotatedAccessKey synthesizes, its function's code the installed handler bundle", async () => {
      const out = join(home, "cdk.out");
      const script = `
        import { App, Duration, Stack } from "aws-cdk-lib";
        import * as iam from "aws-cdk-lib/aws-iam";
        import { RotatedAccessKey } from "@keyup/cdk";
        const app = new App({ outdir: ${JSON.stringify(out)} });
        const stack = new Stack(app, "Packed");
        new RotatedAccessKey(stack, "Key", { user: new iam.User(stack, "User"), schedule: Duration.days(30) });
        const template = app.synth().getStackByName("Packed").template;
        console.log(JSON.stringify(Object.values(template.Resources).map((r) => r.Type).sort()));`;
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: cdkApp, env: { PATH: process.env.PATH, HOME: home } });
      expect(JSON.parse(stdout)).toEqual(
        expect.arrayContaining(["AWS::Lambda::Function", "AWS::SecretsManager::Secret", "AWS::SecretsManager::RotationSchedule"]),
      );
      const assets = (await readdir(out)).filter((f) => f.startsWith("asset."));
      expect(assets).toHaveLength(1);
      expect(readFileSync(join(out, assets[0] ?? "", "index.js"), "utf8")).toBe(
        readFileSync(join(cdkApp, "node_modules/@keyup/cdk/dist/handler/index.js"), "utf8"),
      );
    });

    test("TypeScript (nodenext) type-checks a construct's use, ES module and CommonJS", async () => {
      const dir = join(cdkApp, "tsc-nodenext");
      await mkdir(dir, { recursive: true });
      const stack = `
        const app = new App();
        const stack = new Stack(app, "Checked");
        const user = new iam.User(stack, "User");
        export const key = new RotatedAccessKey(stack, "Key", { user, secretName: "ci/deployer", schedule: Duration.days(30) });
        key.secret.grantRead(new iam.AccountRootPrincipal());
        // A wrong use must fail: this file is checked for real.
        // @ts-expect-error schedule is a Duration, not a number of days
        new RotatedAccessKey(stack, "Wrong", { user, schedule: 30 });
      `;
      // The same imports in both: a .cts resolves them through the packages' `require` conditions.
      const imports = `import { App, Duration, Stack } from "aws-cdk-lib";\nimport * as iam from "aws-cdk-lib/aws-iam";\nimport { RotatedAccessKey } from "@keyup/cdk";\n`;
      await writeFile(join(dir, "esm.mts"), imports + stack);
      await writeFile(join(dir, "cjs.cts"), imports + stack);
      await writeFile(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            module: "nodenext",
            moduleResolution: "nodenext",
            target: "es2022",
            strict: true,
            noEmit: true,
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

    test.each([
      ["import", "ESM", `const m = await import("@keyup/cdk");`],
      ["require", "CommonJS", `const m = require("@keyup/cdk");`],
    ])("`%s` of @keyup/cdk (%s) gives RotatedAccessKey, a construct class", async (how, _kind, load) => {
      const script = `
        ${load}
        const { Construct } = ${how === "import" ? 'await import("constructs")' : 'require("constructs")'};
        console.log(JSON.stringify({ version: process.version, names: Object.keys(m).sort(), construct: m.RotatedAccessKey.prototype instanceof Construct }));`;
      const { stdout } = await run(node(), how === "import" ? ["--input-type=module", "-e", script] : ["-e", script], { cwd: cdkApp, env: env() });
      const out = JSON.parse(stdout);
      expect(out.version).toMatch(new RegExp(`^v${line}\\.`));
      expect(out.names).toEqual(expect.arrayContaining(["RotatedAccessKey", "handlerBundleDir"]));
      expect(out.construct).toBe(true);
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
  expect(names["@keyup/store-github-actions"]).toContain("githubActionsStore");
  expect(names["@keyup/store-test-suite"]).toContain("credentialStoreTestSuite");
}

import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { access, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer, request } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromIni } from "@aws-sdk/credential-providers";
import {
  type AccessKeyPair,
  type AwsPort,
  type CredentialStore,
  rotateMany as coreRotateMany,
  createAwsPort,
  type FleetReport,
  type FleetResult,
  formatFleetTable,
  type KeyupError,
  pendingRotations,
  type RotateManyOptions,
  rotate,
} from "@keyup/core";
import { iniStore } from "@keyup/store-ini";
import type { Result } from "neverthrow";
import { afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { awsErrorXml, startAwsProxy } from "../../../test-support/aws-proxy.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, tempDir, whoAmI, workingKey } from "../../../test-support/moto.js";
import { captureOutput, captureValue, holdsSecret } from "../../../test-support/secrets.js";
import { tokenizationCount } from "../../store-ini/src/_internal/ini-lines.js";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const packages = fileURLToPath(new URL("../../", import.meta.url));
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

let admin: TestKey;
const closers: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** rotateMany as the tests call it: every event, per-store result and the report go to the secret scan. */
async function rotateMany(options: RotateManyOptions): Promise<Result<FleetReport, KeyupError>> {
  const result = await coreRotateMany({
    ...options,
    onEvent: (event, store) => {
      captureValue(`fleet event ${store}`, event);
      options.onEvent?.(event, store);
    },
    onResult: (r) => {
      captureValue("fleet onResult", r);
      options.onResult?.(r);
    },
  });
  captureValue("fleet result", result.isOk() ? result.value : result.error);
  if (result.isOk()) captureOutput("fleet table", formatFleetTable(result.value));
  return result;
}

async function proxy(decide?: Parameters<typeof startAwsProxy>[1]) {
  const p = await startAwsProxy(motoUrl(), decide);
  closers.push(p.close);
  return p;
}

/**
 * A pass-through proxy that measures how many `action` requests are in flight at once: from the moment
 * one arrives until its answer has been sent back.
 */
async function inFlightMeter(target: string, action: string) {
  const upstream = new URL(target);
  let now = 0;
  const meter = { url: "", max: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const counted = new RegExp(`(^|&)Action=${action}(&|$)`).test(body.toString("utf8"));
      if (counted) meter.max = Math.max(meter.max, ++now);
      res.on("close", () => {
        if (counted) now--;
      });
      const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on("error", () => req.socket.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  meter.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return meter;
}

interface Profile {
  readonly name: string;
  readonly key: TestKey;
}

/** A credentials file people edit by hand: comments, blank lines, other settings, uneven spacing. */
function credentialsText(profiles: readonly Profile[]): string {
  const lines = ["# fleet credentials, edited by hand", "; do not reorder", ""];
  profiles.forEach(({ name, key }, i) => {
    lines.push(`[${name}]`);
    if (i % 3 === 0) lines.push(`# owner: team-${i}`);
    lines.push(i % 2 === 0 ? `aws_access_key_id = ${key.accessKeyId}` : `aws_access_key_id=${key.accessKeyId}`);
    if (i % 4 === 1) lines.push("; the secret follows");
    lines.push(`aws_secret_access_key   = ${key.secretAccessKey}`);
    if (i % 2 === 1) lines.push("region = eu-west-1");
    lines.push("");
    if (i % 5 === 0) lines.push("");
  });
  lines.push("# end of file");
  return `${lines.join("\n")}\n`;
}

async function credentialsFile(profiles: readonly Profile[], name = "credentials"): Promise<{ path: string; text: string }> {
  const path = join(await tempDir("keyup-fleet-"), name);
  holdsSecret(path);
  const text = credentialsText(profiles);
  await writeFile(path, text, { mode: 0o600 });
  return { path, text };
}

/** The key as the AWS SDK's own loader reads it from `file`. */
async function sdkKey(file: string, profile: string): Promise<AccessKeyPair> {
  const c = await fromIni({ profile, filepath: file, configFilepath: "/nonexistent/keyup-test-config", ignoreCache: true })();
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
}

/** The key as the AWS CLI v1 reads it from `file` (no other AWS_* variable leaks in). */
async function awsCliKey(file: string, profile: string): Promise<AccessKeyPair> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("AWS_")) env[k] = v;
  env.AWS_SHARED_CREDENTIALS_FILE = file;
  env.AWS_CONFIG_FILE = "/nonexistent/keyup-test-config";
  const get = async (name: string) => (await run("aws", ["configure", "get", name, "--profile", profile], { env })).stdout.trim();
  const [accessKeyId, secretAccessKey] = await Promise.all([get("aws_access_key_id"), get("aws_secret_access_key")]);
  return { accessKeyId, secretAccessKey };
}

function byStore(report: FleetReport): Map<string, FleetResult> {
  return new Map(report.results.map((r) => [r.store, r]));
}

const pad = (i: number) => String(i).padStart(2, "0");

type TestUser = Awaited<ReturnType<typeof createUser>>;

describe("rotateMany() against moto with authentication enforced", () => {
  test("20 profiles of one file, two sharing a key: 19 keys created, every profile works, other bytes unchanged, concurrency bounded", async () => {
    const users: TestUser[] = [];
    for (let i = 1; i <= 19; i++) users.push(await createUser(`fleet-${pad(i)}`));
    // p20 holds the same key as p01: one user, one key, two profiles.
    const profiles: (Profile & { user: TestUser })[] = users.map((user, i) => ({ name: `p${pad(i + 1)}`, key: user.keys[0] as TestKey, user }));
    profiles.push({ name: "p20", key: users[0]?.keys[0] as TestKey, user: users[0] as TestUser });
    const file = await credentialsFile(profiles);
    const stores = profiles.map((p) => iniStore({ profile: p.name, path: file.path }));
    await enforceAuth();
    // A little delay on CreateAccessKey so overlapping calls are observable at the meter in front.
    const aws = await proxy((req) => (req.action === "CreateAccessKey" ? { delayMs: 150 } : undefined));
    const meter = await inFlightMeter(aws.url, "CreateAccessKey");
    const seen: FleetResult[] = [];
    const tokenizations = tokenizationCount();

    const result = await rotateMany({ stores, concurrency: 4, endpoint: meter.url, region: "us-east-1", onResult: (r) => seen.push(r) });

    expect(result.isOk()).toBe(true);
    // One split of the file into lines for the whole fleet: each write derives the next version's.
    expect(tokenizationCount() - tokenizations).toBe(1);
    const report = result._unsafeUnwrap();
    expect(report.results.map((r) => r.store)).toEqual(stores.map((s) => s.name));
    expect(report.results.map((r) => [r.store, r.outcome, r.error?.message])).toEqual(stores.map((s) => [s.name, "rotated", undefined]));
    expect([report.rotated, report.warnings, report.skipped, report.failed]).toEqual([20, 0, 0, 0]);
    expect(seen.map((r) => r.store).sort()).toEqual(stores.map((s) => s.name).sort());
    expect(aws.counts().CreateAccessKey).toBe(19);
    expect(meter.max).toBeGreaterThan(1);
    expect(meter.max).toBeLessThanOrEqual(4);

    const results = byStore(report);
    const first = results.get(stores[0]?.name ?? "");
    const last = results.get(stores[19]?.name ?? "");
    expect(first?.sharedWith).toEqual([stores[19]?.name]);
    expect(last?.sharedWith).toEqual([stores[0]?.name]);
    expect(first?.newAccessKeyId).toBeDefined();
    expect(last?.newAccessKeyId).toBe(first?.newAccessKeyId);

    let expected = file.text;
    for (const [i, p] of profiles.entries()) {
      const r = results.get(stores[i]?.name ?? "") as FleetResult;
      expect(r.sharedWith.length).toBe(i === 0 || i === 19 ? 1 : 0);
      expect(r.oldAccessKeyId).toBe(p.key.accessKeyId);
      expect(r.userName).toBe(p.user.userName);
      const held = await sdkKey(file.path, p.name);
      expect(held.accessKeyId).toBe(r.newAccessKeyId);
      expect(await workingKey(held)).toBe(p.user.arn);
      expect(await whoAmI(p.key)).toBe("error:InvalidClientTokenId");
      expected = expected.replace(p.key.accessKeyId, held.accessKeyId).replace(p.key.secretAccessKey, held.secretAccessKey);
    }
    for (const user of users) {
      const held = await sdkKey(file.path, profiles.find((p) => p.user === user)?.name ?? "");
      expect(await keysOf(admin, user.userName)).toEqual([{ id: held.accessKeyId, status: "Active" }]);
    }
    // Every byte but the rotated values is as written: comments, blank lines, spacing, other settings.
    expect(await readFile(file.path, "utf8")).toBe(expected);
    // An independent reader agrees for the two profiles that share a key.
    const [cliFirst, cliLast] = await Promise.all([awsCliKey(file.path, "p01"), awsCliKey(file.path, "p20")]);
    expect(cliFirst).toEqual(await sdkKey(file.path, "p01"));
    expect(cliLast).toEqual(cliFirst);
    // The file lock was released, and no journal or backup was left behind.
    expect(await exists(`${file.path}.lock`)).toBe(false);
    expect((await readdir(join(file.path, ".."))).filter((f) => f.includes("journal") || f.includes("backup"))).toEqual([]);
  });

  test("one lock per file, no two reads/writes of one file at once, yet profiles of one file rotate in parallel", async () => {
    const users: TestUser[] = [];
    for (let i = 1; i <= 6; i++) users.push(await createUser(`serial-${i}`));
    const fileA = await credentialsFile(
      users.slice(0, 3).map((u, i) => ({ name: `a${i}`, key: u.keys[0] as TestKey })),
      "credentials-a",
    );
    const fileB = await credentialsFile(
      users.slice(3).map((u, i) => ({ name: `b${i}`, key: u.keys[0] as TestKey })),
      "credentials-b",
    );
    const locks = new Map<string, number>();
    const busy = new Map<string, number>();
    const maxBusy = new Map<string, number>();
    // The real iniStore, watched: how often its lock is taken, and how many of its file's calls overlap.
    const watched = (store: ReturnType<typeof iniStore>): CredentialStore => {
      const through =
        <A extends unknown[], T>(call: (...args: A) => Promise<T>) =>
        async (...args: A): Promise<T> => {
          busy.set(store.path, (busy.get(store.path) ?? 0) + 1);
          maxBusy.set(store.path, Math.max(maxBusy.get(store.path) ?? 0, busy.get(store.path) ?? 0));
          try {
            await new Promise((r) => setTimeout(r, 5));
            return await call(...args);
          } finally {
            busy.set(store.path, (busy.get(store.path) ?? 0) - 1);
          }
        };
      return {
        ...store,
        read: through(store.read),
        backup: through(store.backup),
        write: through(store.write),
        restore: through(store.restore),
        lock: async () => {
          locks.set(store.path, (locks.get(store.path) ?? 0) + 1);
          return store.lock();
        },
      };
    };
    const stores = [
      ...["a0", "a1", "a2"].map((profile) => watched(iniStore({ profile, path: fileA.path }))),
      ...["b0", "b1", "b2"].map((profile) => watched(iniStore({ profile, path: fileB.path }))),
    ];
    const fileOf = (name: string) => (name.includes("credentials-a") ? "a" : "b");
    const rotating = new Map<string, number>();
    const maxRotating = new Map<string, number>();
    const started = new Set<string>();
    await enforceAuth();

    const result = await rotateMany({
      stores,
      concurrency: 6,
      endpoint: motoUrl(),
      onEvent: (_e, store) => {
        if (started.has(store)) return;
        started.add(store);
        rotating.set(fileOf(store), (rotating.get(fileOf(store)) ?? 0) + 1);
        maxRotating.set(fileOf(store), Math.max(maxRotating.get(fileOf(store)) ?? 0, rotating.get(fileOf(store)) ?? 0));
      },
      onResult: (r) => rotating.set(fileOf(r.store), (rotating.get(fileOf(r.store)) ?? 0) - 1),
    });

    const report = result._unsafeUnwrap();
    expect(report.results.map((r) => r.outcome)).toEqual(Array(6).fill("rotated"));
    expect(Object.fromEntries(locks)).toEqual({ [fileA.path]: 1, [fileB.path]: 1 });
    expect(Object.fromEntries(maxBusy)).toEqual({ [fileA.path]: 1, [fileB.path]: 1 });
    expect(maxRotating.get("a")).toBeGreaterThan(1);
    expect(maxRotating.get("b")).toBeGreaterThan(1);
    for (const [i, user] of users.entries()) {
      const file = i < 3 ? fileA.path : fileB.path;
      const held = await sdkKey(file, i < 3 ? `a${i}` : `b${i - 3}`);
      expect(await workingKey(held)).toBe(user.arn);
      expect(await keysOf(admin, user.userName)).toEqual([{ id: held.accessKeyId, status: "Active" }]);
    }
    expect(await exists(`${fileA.path}.lock`)).toBe(false);
    expect(await exists(`${fileB.path}.lock`)).toBe(false);
  });

  test("a user without iam:CreateAccessKey fails alone; every other profile rotates and its file values stay", async () => {
    const users: TestUser[] = [];
    for (let i = 1; i <= 3; i++) users.push(await createUser(`able-${i}`));
    const unable = await createUser("unable", {
      policy: {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["iam:ListAccessKeys", "iam:GetUser", "iam:GetAccessKeyLastUsed"], Resource: "*" }],
      },
    });
    const profiles = [
      { name: "able1", key: users[0]?.keys[0] as TestKey },
      { name: "unable", key: unable.keys[0] as TestKey },
      { name: "able2", key: users[1]?.keys[0] as TestKey },
      { name: "able3", key: users[2]?.keys[0] as TestKey },
    ];
    const file = await credentialsFile(profiles);
    const stores = profiles.map((p) => iniStore({ profile: p.name, path: file.path }));
    await enforceAuth();

    const result = await rotateMany({ stores, endpoint: motoUrl() });

    const report = result._unsafeUnwrap();
    const failed = report.results[1] as FleetResult;
    expect(report.results.map((r) => r.outcome)).toEqual(["rotated", "failed", "rotated", "rotated"]);
    expect([report.rotated, report.failed]).toEqual([3, 1]);
    expect(failed.error).toMatchObject({ kind: "aws", operation: "CreateAccessKey", code: "AccessDenied" });
    expect(failed.error && "cause" in failed.error).toBe(false);
    expect(failed.newAccessKeyId).toBeUndefined();
    expect(await sdkKey(file.path, "unable")).toEqual(unable.keys[0]);
    expect(await keysOf(admin, "unable")).toEqual([{ id: unable.keys[0]?.accessKeyId, status: "Active" }]);
    let expected = file.text;
    for (const [i, user] of users.entries()) {
      const held = await sdkKey(file.path, `able${i + 1}`);
      expect(await workingKey(held)).toBe(user.arn);
      expected = expected.replace(user.keys[0]?.accessKeyId ?? "", held.accessKeyId).replace(user.keys[0]?.secretAccessKey ?? "", held.secretAccessKey);
    }
    expect(await readFile(file.path, "utf8")).toBe(expected);
    const table = formatFleetTable(report);
    const row = table.split("\n").find((line) => line.startsWith(`${stores[1]?.name} `));
    expect(row?.split(/\s+/)).toEqual([stores[1]?.name, "failed", unable.keys[0]?.accessKeyId, "-", expect.stringMatching(/^\d+\.\d$/)]);
    expect(table).toContain(`#unable: ${failed.error?.message}`);
  });

  describe("another process holds a file's lock", () => {
    let childScript = "";
    // The other process runs the real iniStore, bundled once with the esbuild that tsup ships.
    beforeAll(async () => {
      const esbuild = createRequire(require.resolve("tsup"))("esbuild") as { build(options: Record<string, unknown>): Promise<unknown> };
      const dir = await tempDir("keyup-fleet-child-");
      const bundle = join(dir, "store-ini.cjs");
      await esbuild.build({
        entryPoints: [join(packages, "store-ini", "src", "index.ts")],
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node20",
        outfile: bundle,
        alias: {
          "@keyup/core/files": join(packages, "core", "src", "files", "index.ts"),
          "@keyup/core": join(packages, "core", "src", "credential-store.ts"),
        },
        logLevel: "silent",
      });
      childScript = join(dir, "hold.cjs");
      await writeFile(
        childScript,
        `const { iniStore } = require(${JSON.stringify(bundle)});
const [path, profile] = process.argv.slice(2);
iniStore({ profile, path }).lock().then((lock) => {
  process.stdout.write("locked\\n");
  process.stdin.once("data", () => lock.release().then(() => process.exit(0)));
});
`,
      );
    });

    async function holdLock(path: string, profile: string): Promise<ChildProcessWithoutNullStreams> {
      const child = spawn(process.execPath, [childScript, path, profile], { stdio: "pipe" });
      closers.push(async () => {
        if (child.exitCode === null) {
          child.stdin.write("release\n");
          await once(child, "exit");
        }
      });
      const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
      expect(line).toBe("locked");
      return child;
    }

    test("that file's profiles fail with a lock error naming the holder, and so does a key they share elsewhere; the other file's profiles rotate", async () => {
      const users: TestUser[] = [];
      for (let i = 1; i <= 4; i++) users.push(await createUser(`locked-${i}`));
      const fileA = await credentialsFile(
        users.slice(0, 2).map((u, i) => ({ name: `a${i}`, key: u.keys[0] as TestKey })),
        "credentials-a",
      );
      // b2 holds the same key as a1, in the file nobody else has locked.
      const fileB = await credentialsFile(
        [...users.slice(2), users[1] as TestUser].map((u, i) => ({ name: `b${i}`, key: u.keys[0] as TestKey })),
        "credentials-b",
      );
      const stores = [
        iniStore({ profile: "a0", path: fileA.path }),
        iniStore({ profile: "b0", path: fileB.path }),
        iniStore({ profile: "a1", path: fileA.path }),
        iniStore({ profile: "b1", path: fileB.path }),
        iniStore({ profile: "b2", path: fileB.path }),
      ];
      const child = await holdLock(fileA.path, "a1");
      await enforceAuth();
      const aws = await proxy();

      const result = await rotateMany({ stores, endpoint: aws.url });

      const report = result._unsafeUnwrap();
      expect(report.results.map((r) => [r.store, r.outcome])).toEqual(
        stores.map((s) => [s.name, s.path === fileA.path || s.profile === "b2" ? "failed" : "rotated"]),
      );
      for (const r of [report.results[0], report.results[2], report.results[4]]) {
        expect(r?.error?.kind).toBe("lock");
        expect(r?.error?.kind === "lock" && r.error.store).toBe(r?.store);
        expect(r?.error?.kind === "lock" && r.error.holder).toContain(`pid ${child.pid} on host ${hostname()}`);
        expect(r?.error?.message).toContain(`${fileA.path}.lock`);
      }
      expect(report.results[2]?.error?.message).toContain(`${stores[2]?.name} shares its lock with ${stores[0]?.name}`);
      expect(report.results[4]?.error?.message).toContain(
        `holds the key ${users[1]?.keys[0]?.accessKeyId} that ${stores[2]?.name} also holds, which could not be locked`,
      );
      expect(report.results[4]?.sharedWith).toEqual([stores[2]?.name]);
      // Nothing was asked of IAM for file A's users, file A is byte-identical and still locked by its holder,
      // and b2 still holds the key a1 holds.
      expect(aws.requests.filter((r) => r.accessKeyId === users[0]?.keys[0]?.accessKeyId || r.accessKeyId === users[1]?.keys[0]?.accessKeyId)).toEqual([]);
      expect(await readFile(fileA.path, "utf8")).toBe(fileA.text);
      expect(await exists(`${fileA.path}.lock`)).toBe(true);
      for (const user of users.slice(0, 2)) expect(await keysOf(admin, user.userName)).toEqual([{ id: user.keys[0]?.accessKeyId, status: "Active" }]);
      let expectedB = fileB.text;
      for (const [i, user] of users.slice(2).entries()) {
        const held = await sdkKey(fileB.path, `b${i}`);
        expect(await workingKey(held)).toBe(user.arn);
        expect(await keysOf(admin, user.userName)).toEqual([{ id: held.accessKeyId, status: "Active" }]);
        expectedB = expectedB.replace(user.keys[0]?.accessKeyId ?? "", held.accessKeyId).replace(user.keys[0]?.secretAccessKey ?? "", held.secretAccessKey);
      }
      expect(await readFile(fileB.path, "utf8")).toBe(expectedB);
      expect(await exists(`${fileB.path}.lock`)).toBe(false);
    });
  });

  test("an interrupted rotation is finished alone before the stores sharing its old key are read", async () => {
    const user = await createUser("resumed");
    const other = await createUser("bystander");
    const old = user.keys[0] as TestKey;
    const file = await credentialsFile([
      { name: "crashed", key: old },
      { name: "sharer", key: old },
      { name: "bystander", key: other.keys[0] as TestKey },
    ]);
    const crashed = iniStore({ profile: "crashed", path: file.path });
    await enforceAuth();
    // A rotation of "crashed" alone stops for good just before deactivating the old key: the new key is
    // installed and verified, and the journal records it. (Its lock is left out, as a killed process's would be.)
    let stopped: () => void = () => undefined;
    const atDeactivate = new Promise<void>((resolve) => {
      stopped = resolve;
    });
    const real = createAwsPort({ endpoint: motoUrl() });
    const dying: AwsPort = {
      ...real,
      updateAccessKey: () => {
        stopped();
        return new Promise<never>(() => undefined);
      },
    };
    // (Its check for other holders is left out too: rotated alone, "crashed" would now be refused for the key "sharer" holds.)
    void rotate({ store: { ...crashed, otherHolders: undefined, lock: async () => ({ release: async () => undefined }) }, aws: dying });
    await atDeactivate;
    const pending = (await pendingRotations({ store: crashed }))._unsafeUnwrap();
    expect(pending.map((p) => p.phase)).toEqual(["deactivating"]);
    const installed = await sdkKey(file.path, "crashed");
    expect(installed.accessKeyId).toBe(pending[0]?.newAccessKeyId);
    const sharerBefore = await sdkKey(file.path, "sharer");
    const aws = await proxy();

    const result = await rotateMany({ stores: ["sharer", "crashed", "bystander"].map((profile) => iniStore({ profile, path: file.path })), endpoint: aws.url });

    const [sharer, resumed, bystander] = result._unsafeUnwrap().results as [FleetResult, FleetResult, FleetResult];
    // The interrupted rotation was finished, not started over: its key is the one it had created.
    expect(resumed).toMatchObject({ outcome: "rotated", sharedWith: [], oldAccessKeyId: old.accessKeyId, newAccessKeyId: installed.accessKeyId });
    expect(await keysOf(admin, "resumed")).toEqual([{ id: installed.accessKeyId, status: "Active" }]);
    expect(await workingKey(await sdkKey(file.path, "crashed"))).toBe(user.arn);
    // Only after it retired the old key was the profile still holding that key read: it cannot rotate
    // a deleted key, says so, and keeps its bytes.
    expect(sharer.outcome).toBe("failed");
    expect(sharer.error?.kind).toBe("aws");
    expect(sharer.error?.message).toContain("InvalidClientTokenId");
    expect(await sdkKey(file.path, "sharer")).toEqual(sharerBefore);
    expect(bystander.outcome).toBe("rotated");
    expect(aws.counts().CreateAccessKey).toBe(1);
    const firstSharerCall = aws.requests.findIndex(
      (r) => r.accessKeyId === old.accessKeyId && r.action !== "UpdateAccessKey" && r.action !== "DeleteAccessKey",
    );
    const oldDeleted = aws.requests.findIndex((r) => r.action === "DeleteAccessKey" && r.accessKeyId === installed.accessKeyId);
    expect(oldDeleted).toBeGreaterThanOrEqual(0);
    expect(firstSharerCall).toBeGreaterThan(oldDeleted);
    expect((await pendingRotations({ store: crashed }))._unsafeUnwrap()).toEqual([]);
  });

  test("the AWS port tells its observer of every throttled attempt, the SDK's retries included (the fleet's back-off signal)", async () => {
    let calls = 0;
    // The first two GetCallerIdentity attempts are throttled; the SDK retries and the third is answered.
    const p = await proxy((req) =>
      req.action === "GetCallerIdentity" && ++calls <= 2 ? { status: 400, body: awsErrorXml("Throttling", "Rate exceeded") } : undefined,
    );
    const answers: boolean[] = [];
    const aws = createAwsPort({ endpoint: p.url, region: "us-east-1", onResponse: (a) => answers.push(a.throttled) });
    const who = await aws.getCallerIdentity(admin);
    expect(who.arn).toContain("admin");
    expect(answers).toEqual([true, true, false]);
  });

  test("an empty list is an empty report, and asks nothing of AWS", async () => {
    await enforceAuth();
    const aws = await proxy();

    const result = await rotateMany({ stores: [], endpoint: aws.url });

    const report = result._unsafeUnwrap();
    expect(report.results).toEqual([]);
    expect([report.rotated, report.warnings, report.skipped, report.failed]).toEqual([0, 0, 0, 0]);
    expect(aws.requests).toEqual([]);
  });
});

import { link, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AwsPort, createAwsPort, memoryStore, rotateMany } from "@keyup/core";
import { iniStore } from "@keyup/store-ini";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, tempDir, workingKey } from "../../../test-support/moto.js";
import { rotate } from "../../../test-support/observed.js";
import { type Answer, type RealismProxy, startRealismProxy } from "../../../test-support/realism/realism-proxy.js";
import { holdsSecret } from "../../../test-support/secrets.js";

// Issue 15's hardening classes that the library alone shows (the CLI's are in packages/cli/test).

let admin: TestKey;
let proxy: RealismProxy | undefined;

beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

/** Answers that do not prove that nothing was created, each sent after IAM created the key. */
const GARBLED: Record<string, Answer> = {
  "truncated XML": {
    status: 200,
    headers: { "content-type": "text/xml" },
    body: "<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>garble</UserName><AccessKeyId>AKIA",
  },
  "HTML error page from a proxy (502)": {
    status: 502,
    headers: { "content-type": "text/html" },
    body: "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>",
  },
  "HTML page with 200": { status: 200, headers: { "content-type": "text/html" }, body: "<html><body>Please sign in to the network</body></html>" },
  "500 with an empty body": { status: 500, headers: { "content-type": "text/xml" }, body: "" },
  "504 gateway timeout (plain text)": { status: 504, headers: { "content-type": "text/plain" }, body: "Gateway Timeout" },
  "JSON body": { status: 200, headers: { "content-type": "application/json" }, body: '{"message":"ok","AccessKey":null}' },
  "unknown error name": {
    status: 400,
    headers: { "content-type": "text/xml" },
    body: "<ErrorResponse><Error><Type>Sender</Type><Code>SomethingNobodyKnows</Code><Message>odd</Message></Error><RequestId>0</RequestId></ErrorResponse>",
  },
};

describe("orphans from garbled CreateAccessKey answers", () => {
  for (const [name, answer] of Object.entries(GARBLED)) {
    test(`${name}: the key IAM created is found (ListAccessKeys lags) and deleted, the rotation completes, no orphan`, async () => {
      const user = await createUser("garble");
      const old = user.keys[0] as TestKey;
      const store = memoryStore({ initial: old });
      await enforceAuth();
      // ListAccessKeys does not show a new key for 1.5 s: reconcile must look again, not conclude at once.
      proxy = await startRealismProxy(motoUrl(), { listLagMs: 1_500 });
      let garbled = 0;
      proxy.rewriteAnswers((action) => (action === "CreateAccessKey" && garbled++ === 0 ? answer : undefined));

      const result = await rotate({ store, endpoint: proxy.url, region: "us-east-1" });

      expect(garbled, "the garbled answer was sent").toBeGreaterThan(0);
      const report = result._unsafeUnwrap();
      expect(report.outcome, JSON.stringify(report.steps)).toBe("rotated");
      const held = store.current() as TestKey;
      expect(await keysOf(admin, "garble"), "only the store's key exists in IAM").toEqual([{ id: held.accessKeyId, status: "Active" }]);
      expect(await workingKey(held)).toBe(user.arn);
      expect(proxy.requests.filter((r) => r.action === "CreateAccessKey")).toHaveLength(2);
    }, 60_000);
  }

  test("a definite refusal (LimitExceeded) still fails at once, without listing keys", async () => {
    const user = await createUser("garble");
    const store = memoryStore({ initial: user.keys[0] as TestKey });
    await enforceAuth();
    proxy = await startRealismProxy(motoUrl());
    proxy.rewriteAnswers((action) =>
      action === "CreateAccessKey"
        ? {
            status: 409,
            headers: { "content-type": "text/xml" },
            body: "<ErrorResponse><Error><Type>Sender</Type><Code>LimitExceeded</Code><Message>two keys</Message></Error><RequestId>0</RequestId></ErrorResponse>",
          }
        : undefined,
    );
    const result = await rotate({ store, endpoint: proxy.url, region: "us-east-1" });
    expect(result.isErr() ? result.error.kind : result._unsafeUnwrap().outcome).not.toBe("rotated");
    expect(proxy.requests.filter((r) => r.action === "ListAccessKeys")).toHaveLength(1);
  });
});

const profileText = (name: string, key: TestKey) => `[${name}]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`;

describe("lockout via a second holder", () => {
  test("two profiles of one file hold the key: rotating one refuses (ESHARED), the key and the file stay as they were", async () => {
    const user = await createUser("holder");
    const old = user.keys[0] as TestKey;
    const file = join(await tempDir(), "credentials");
    const text = `${profileText("a", old)}${profileText("b", old)}`;
    await writeFile(file, text, { mode: 0o600 });
    await enforceAuth();

    const result = await rotate({ store: iniStore({ profile: "a", path: file }), endpoint: motoUrl(), region: "us-east-1" });

    expect(result.isErr()).toBe(true);
    const error = result._unsafeUnwrapErr();
    expect(error.kind === "store" && error.code).toBe("ESHARED");
    expect(error.message).toContain(`ini:${file}#b`);
    expect(await keysOf(admin, "holder")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
    expect(await readFile(file, "utf8")).toBe(text);
  });

  test("the same two profiles rotated together (a fleet) get the one new key, nothing refused", async () => {
    const user = await createUser("holder");
    const old = user.keys[0] as TestKey;
    const file = join(await tempDir(), "credentials");
    await writeFile(file, `${profileText("a", old)}${profileText("b", old)}`, { mode: 0o600 });
    await enforceAuth();
    const a = iniStore({ profile: "a", path: file });
    const b = iniStore({ profile: "b", path: file });

    const fleet = (await rotateMany({ stores: [a, b], endpoint: motoUrl(), region: "us-east-1" }))._unsafeUnwrap();

    expect(fleet.results.map((r) => r.outcome)).toEqual(["rotated", "rotated"]);
    const [heldA, heldB] = [await a.read(), await b.read()];
    expect(heldA?.accessKeyId).toBe(heldB?.accessKeyId);
    expect(await keysOf(admin, "holder")).toEqual([{ id: heldA?.accessKeyId, status: "Active" }]);
  });

  test("the credentials file has a second hard link: refused with how to find it, the key stays", async () => {
    const user = await createUser("holder");
    const old = user.keys[0] as TestKey;
    const dir = await tempDir();
    const file = join(dir, "credentials");
    await writeFile(file, profileText("a", old), { mode: 0o600 });
    await link(file, join(dir, "credentials.other-name"));
    holdsSecret(join(dir, "credentials.other-name"));
    await enforceAuth();

    const result = await rotate({ store: iniStore({ profile: "a", path: file }), endpoint: motoUrl(), region: "us-east-1" });

    const error = result._unsafeUnwrapErr();
    expect(error.kind === "store" && error.code).toBe("ESHARED");
    expect(error.message).toContain("2 hard links");
    expect(error.message).toContain("-samefile");
    expect(await keysOf(admin, "holder")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
  });

  test("a fleet with an ambiguous profile holding the shared key refuses the whole shared group and keeps the old key", async () => {
    const user = await createUser("holder");
    const old = user.keys[0] as TestKey;
    const file = join(await tempDir(), "credentials");
    // Profile b gives the key id twice: keyup refuses to read it, yet an SDK reading b gets the shared key.
    const ambiguous = `[b]\naws_access_key_id = ${old.accessKeyId}\naws_access_key_id = ${old.accessKeyId}\naws_secret_access_key = ${old.secretAccessKey}\n`;
    const text = `${profileText("a", old)}${ambiguous}${profileText("c", old)}`;
    await writeFile(file, text, { mode: 0o600 });
    await enforceAuth();
    const stores = ["a", "b", "c"].map((profile) => iniStore({ profile, path: file }));

    const fleet = (await rotateMany({ stores, endpoint: motoUrl(), region: "us-east-1" }))._unsafeUnwrap();

    expect(fleet.rotated).toBe(0);
    expect(await keysOf(admin, "holder")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
    expect(await readFile(file, "utf8")).toBe(text);
    const a = fleet.results.find((r) => r.store.endsWith("#a"));
    expect(a?.error?.message).toContain(`ini:${file}#b`);
  });
});

describe("data loss via concurrent writers", () => {
  test("a non-atomic writer truncates and rewrites the file during the rotation: keyup writes nothing, keeps their content, deletes its new key", async () => {
    const user = await createUser("racer");
    const old = user.keys[0] as TestKey;
    const other = (await createUser("bystander")).keys[0] as TestKey;
    const file = join(await tempDir(), "credentials");
    await writeFile(file, `${profileText("a", old)}${profileText("other", other)}`, { mode: 0o600 });
    await enforceAuth();
    // As `aws configure set` writes: truncate, then write; keyup reads between the two.
    const theirs = `[other]\naws_access_key_id = ${other.accessKeyId}\n`;
    const real = createAwsPort({ endpoint: motoUrl(), region: "us-east-1" });
    const aws: AwsPort = {
      ...real,
      createAccessKey: async (userName, credentials) => {
        const key = await real.createAccessKey(userName, credentials);
        await writeFile(file, theirs);
        return key;
      },
    };

    const result = await rotate({ store: iniStore({ profile: "a", path: file }), aws });

    const outcome = result.isOk() ? result.value.outcome : result.error.report?.outcome;
    expect(outcome).toBe("rolled-back");
    expect(JSON.stringify(result.isOk() ? result.value : result.error.report)).toContain("EMODIFIED");
    expect(await readFile(file, "utf8"), "the other writer's content is what the file holds").toBe(theirs);
    expect(await keysOf(admin, "racer")).toEqual([{ id: old.accessKeyId, status: "Active" }]);
  });

  test("someone points the profile at another key during verify: the rollback leaves their key and says so", async () => {
    const user = await createUser("racer", { keys: 1 });
    const old = user.keys[0] as TestKey;
    const theirs = (await createUser("theirs")).keys[0] as TestKey;
    const file = join(await tempDir(), "credentials");
    await writeFile(file, profileText("a", old), { mode: 0o600 });
    await enforceAuth();
    const real = createAwsPort({ endpoint: motoUrl(), region: "us-east-1" });
    const aws: AwsPort = {
      ...real,
      getCallerIdentity: async (credentials) => {
        if (credentials.accessKeyId === old.accessKeyId) return real.getCallerIdentity(credentials);
        // The new key is being verified: another tool rewrites the profile, and verify fails for good.
        await writeFile(file, profileText("a", theirs));
        throw Object.assign(new Error("refused for good"), { name: "SomethingPermanent" });
      },
    };

    const result = await rotate({ store: iniStore({ profile: "a", path: file }), aws });

    const report = result.isOk() ? result.value : result.error.report;
    expect(await readFile(file, "utf8"), "their key is left in place").toBe(profileText("a", theirs));
    expect(JSON.stringify(report)).toContain("left it as it is");
    expect(JSON.stringify(report)).not.toContain("holds its previous content again");
  });
});

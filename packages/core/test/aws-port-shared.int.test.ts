import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AwsPort, createAwsPort } from "@keyup/core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { startAwsProxy } from "../../../test-support/aws-proxy.js";
import { createUser, enforceAuth, motoUrl, resetEmulator, type TestKey, tempDir } from "../../../test-support/moto.js";

// A port builds one SDK client per signing key (a fleet: a few per profile). What does not depend on
// the key is shared: one pool of connections, and the settings the SDK reads from the environment
// and the shared config files, resolved by the first client of each service and handed to the others.

type Proxy = Awaited<ReturnType<typeof startAwsProxy>>;
const ENV = ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_STS", "AWS_PROFILE"] as const;
const saved = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));
let proxies: Proxy[] = [];
let keys: TestKey[];

beforeEach(async () => {
  await resetEmulator();
  keys = [];
  for (const name of ["ann", "bob", "cid"]) keys.push((await createUser(name)).keys[0] as TestKey);
  await enforceAuth();
  // No ambient configuration: each test states its own.
  const dir = await tempDir();
  process.env.AWS_CONFIG_FILE = join(dir, "config");
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "credentials");
  for (const name of ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_STS", "AWS_PROFILE"]) delete process.env[name];
});
afterEach(async () => {
  for (const p of proxies) await p.close();
  proxies = [];
  for (const name of ENV) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

async function proxy(): Promise<Proxy> {
  const p = await startAwsProxy(motoUrl(), undefined, { keepAlive: true });
  proxies.push(p);
  return p;
}

/** Each key's own identity (STS) and its user's keys (IAM): two clients per key. */
async function callWithEachKey(aws: AwsPort): Promise<void> {
  for (const key of keys) {
    const { arn } = await aws.getCallerIdentity(key);
    const user = arn.slice(arn.lastIndexOf("/") + 1);
    expect((await aws.listAccessKeys(user, key)).map((k) => k.accessKeyId)).toEqual([key.accessKeyId]);
  }
}

describe("what the SDK clients of one port share", () => {
  test("one pool of connections: six clients (three keys, IAM and STS) send over one kept-alive connection", async () => {
    const p = await proxy();
    await callWithEachKey(createAwsPort({ endpoint: p.url }));
    expect(p.requests.map((r) => r.action)).toEqual(Array.from({ length: 3 }, () => ["GetCallerIdentity", "ListAccessKeys"]).flat());
    expect(p.connections()).toBe(1);
  });

  test("an endpoint_url of the shared config file reaches every client, not only the first", async () => {
    const p = await proxy();
    await writeFile(process.env.AWS_CONFIG_FILE as string, `[default]\nendpoint_url = ${p.url}\n`);
    await callWithEachKey(createAwsPort({ region: "us-east-1" }));
    expect(p.requests).toHaveLength(6);
  });

  test("each service keeps its own configured endpoint (AWS_ENDPOINT_URL_IAM and _STS): settings are resolved per service", async () => {
    const [forIam, forSts] = [await proxy(), await proxy()];
    process.env.AWS_ENDPOINT_URL_IAM = forIam.url;
    process.env.AWS_ENDPOINT_URL_STS = forSts.url;
    await callWithEachKey(createAwsPort({ region: "us-east-1" }));
    expect(forIam.requests.map((r) => r.action)).toEqual(["ListAccessKeys", "ListAccessKeys", "ListAccessKeys"]);
    expect(forSts.requests.map((r) => r.action)).toEqual(["GetCallerIdentity", "GetCallerIdentity", "GetCallerIdentity"]);
  });
});

describe("how often the SDK parses the shared credentials file", () => {
  /** Calls with each of `keys` through a new port, counting the SDK parser's splits of the credentials file's text into lines. */
  async function parsesFor(keys: readonly TestKey[], text: string): Promise<number> {
    const aws = createAwsPort({ endpoint: (await proxy()).url, region: "us-east-1" });
    // The SDK's parseIni splits a file's text on /\r?\n/: the one way to count its parses from outside.
    const split = String.prototype.split;
    let parses = 0;
    String.prototype.split = function (this: string, separator: unknown, limit?: number) {
      if (separator instanceof RegExp && separator.source === "\\r?\\n" && this === text) parses++;
      return split.call(this, separator as RegExp, limit);
    } as typeof split;
    try {
      for (const key of keys) {
        await aws.getCallerIdentity(key);
        await aws.listAccessKeys((await aws.getCallerIdentity(key)).arn.split("/").pop() as string, key);
      }
    } finally {
      String.prototype.split = split;
    }
    return parses;
  }

  test("a port parses it as often for 3 keys (6 clients) as for 1: the first client of each service looks the settings up, the others are handed them", async () => {
    // A file of its own per port: the SDK keeps a file's text for the whole process, once read.
    const textOf = (n: number) => Array.from({ length: 100 }, (_, i) => `[p${i}]\nregion = eu-west-${n}\n`).join("");

    process.env.AWS_SHARED_CREDENTIALS_FILE = join(await tempDir(), "credentials");
    await writeFile(process.env.AWS_SHARED_CREDENTIALS_FILE, textOf(1));
    const one = await parsesFor(keys.slice(0, 1), textOf(1));
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(await tempDir(), "credentials");
    await writeFile(process.env.AWS_SHARED_CREDENTIALS_FILE, textOf(2));
    const three = await parsesFor(keys, textOf(2));

    expect(one).toBeGreaterThan(0);
    expect(three).toBe(one);
  });
});

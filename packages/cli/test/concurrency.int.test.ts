import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "ini";
import { beforeEach, expect, test } from "vitest";
import { awsErrorXml, startAwsProxy } from "../../../test-support/aws-proxy.js";
import { keyup, spawnKeyup } from "../../../test-support/cli.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, tempDir, whoAmI } from "../../../test-support/moto.js";

let admin: TestKey;
beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});

async function setup() {
  const user = await createUser("racer");
  const old = user.keys[0] as TestKey;
  const dir = await tempDir();
  const file = join(dir, "credentials");
  await writeFile(file, `[p]\naws_access_key_id = ${old.accessKeyId}\naws_secret_access_key = ${old.secretAccessKey}\n`, { mode: 0o600 });
  await enforceAuth();
  return { user, old, dir, file, env: { AWS_SHARED_CREDENTIALS_FILE: file, HOME: dir } };
}

test("8 keyup up processes started together: one rotation, the others fail fast naming the lock holder", async () => {
  const { user, file, env } = await setup();
  // Verification is slowed to 3 s so the winner surely holds the lock while the others start.
  const proxy = await startAwsProxy(motoUrl(), (r) => (r.action === "GetCallerIdentity" ? { delayMs: 1_500 } : undefined));
  try {
    const runs = await Promise.all(
      Array.from({ length: 8 }, () => spawnKeyup(["--profile", "p", "--operation", "up", "--auto", "--endpoint-url", proxy.url], env).done),
    );

    const winners = runs.filter((r) => r.code === 0);
    const losers = runs.filter((r) => r.code !== 0);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(7);
    for (const l of losers) {
      expect(l.code).toBe(4);
      expect(l.stderr).toMatch(/^keyup: lock error: .* is locked by pid \d+/);
      // A loser that waited for the lock would end after the winner plus the 10 s stale threshold.
      expect(l.ms).toBeLessThan((winners[0]?.ms ?? 0) + 10_000);
    }
    expect(proxy.counts().CreateAccessKey).toBe(1);
    const keys = await keysOf(admin, "racer");
    expect(keys).toHaveLength(1);
    const parsed = parse(await readFile(file, "utf8")) as Record<string, { aws_access_key_id: string; aws_secret_access_key: string }>;
    expect(parsed.p?.aws_access_key_id).toBe(keys[0]?.id);
    expect(await whoAmI({ accessKeyId: parsed.p?.aws_access_key_id ?? "", secretAccessKey: parsed.p?.aws_secret_access_key ?? "" })).toBe(user.arn);
  } finally {
    await proxy.close();
  }
});

test("a lock left by a killed rotation is recovered, and the rotation is finished", async () => {
  const { user, file, env } = await setup();
  let kill: () => void = () => undefined;
  let fired = false;
  const proxy = await startAwsProxy(motoUrl(), (r) => {
    if (!fired && r.action === "GetCallerIdentity" && r.at > 0 && proxy.requests.some((x) => x.action === "CreateAccessKey")) {
      fired = true;
      return { forwardThen: "hang", after: () => kill() };
    }
    return undefined;
  });
  try {
    const first = spawnKeyup(["--profile", "p", "--operation", "up", "--auto", "--endpoint-url", proxy.url], env);
    kill = () => first.child.kill("SIGKILL");
    const killed = await first.done;
    expect(killed.signal).toBe("SIGKILL");
    expect(existsSync(`${file}.lock`), "the killed process left its lock").toBe(true);

    const second = await keyup(["--profile", "p", "--operation", "up", "--auto", "--endpoint-url", motoUrl()], env);

    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(existsSync(`${file}.lock`)).toBe(false);
    const keys = await keysOf(admin, "racer");
    expect(keys).toHaveLength(1);
    expect(await readFile(file, "utf8")).toContain(keys[0]?.id);
    expect(
      await whoAmI({ accessKeyId: keys[0]?.id ?? "", secretAccessKey: /aws_secret_access_key = (\S+)/.exec(await readFile(file, "utf8"))?.[1] ?? "" }),
    ).toBe(user.arn);
  } finally {
    await proxy.close();
  }
});

test("30 % of requests throttled: five rotations in a row all succeed", async () => {
  const { user, file, env } = await setup();
  // A small deterministic generator, so a failure can be replayed.
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  let throttled = 0;
  const proxy = await startAwsProxy(motoUrl(), () => {
    if (random() >= 0.3) return undefined;
    throttled += 1;
    return throttled % 2 === 0
      ? { status: 400, body: awsErrorXml("Throttling", "Rate exceeded") }
      : { status: 503, body: awsErrorXml("ServiceUnavailable", "slow down") };
  });
  try {
    for (let i = 0; i < 5; i++) {
      const result = await keyup(["--profile", "p", "--operation", "up", "--auto", "--endpoint-url", proxy.url], env);
      expect(result.stderr, `rotation ${i + 1}`).toBe("");
      expect(result.code).toBe(0);
    }
    expect(throttled / proxy.requests.length).toBeGreaterThan(0.2);
    const keys = await keysOf(admin, "racer");
    expect(keys).toHaveLength(1);
    expect(await readFile(file, "utf8")).toContain(keys[0]?.id);
    expect(
      await whoAmI({ accessKeyId: keys[0]?.id ?? "", secretAccessKey: /aws_secret_access_key = (\S+)/.exec(await readFile(file, "utf8"))?.[1] ?? "" }),
    ).toBe(user.arn);
  } finally {
    await proxy.close();
  }
});

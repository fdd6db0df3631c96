import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";

// `pnpm test:aws` reaches a real AWS account; only its refusals are tested here, and with every
// network connection of the process made to fail (a preloaded module replaces net.Socket#connect), so
// a refusal that came after a call to AWS would show.

const ROOT = join(import.meta.dirname, "..", "..");

async function run(env: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), "keyup-test-aws-"));
  const log = join(dir, "connections.log");
  const guard = join(dir, "no-network.cjs");
  await writeFile(
    guard,
    // TCP only: pnpm and tsx talk to their children over local (path) sockets.
    `const net = require("node:net"); const fs = require("node:fs"); const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const a = Array.isArray(args[0]) ? args[0][0] : args[0];
  const tcp = typeof a === "number" || (typeof a === "object" && a !== null && a.port !== undefined) || (typeof a === "string" && /^\\d+$/.test(a));
  if (!tcp) return connect.apply(this, args);
  fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(a) + "\\n");
  throw new Error("no network in this test");
};`,
  );
  await writeFile(log, "");
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("KEYUP_AWS_") && !k.startsWith("AWS_"))) as Record<string, string>;
  // The guard works: a plain TCP connection under it is logged and fails.
  const probe = spawnSync(process.execPath, ["-e", "try { require('node:net').connect(9, '127.0.0.1') } catch {}"], {
    env: { ...process.env, NODE_OPTIONS: `--require ${guard}` },
  });
  expect(probe.status).toBe(0);
  expect(await readFile(log, "utf8")).toContain("9");
  await writeFile(log, "");
  const out = spawnSync("pnpm", ["run", "--silent", "test:aws"], {
    cwd: ROOT,
    env: { ...base, NODE_OPTIONS: `--require ${guard}`, ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: out.status, stderr: out.stderr, stdout: out.stdout, connections: (await readFile(log, "utf8")).trim() };
}

describe("pnpm test:aws refuses without an explicit sandbox", { timeout: 180_000 }, () => {
  test("with no environment: exit 2, names both variables, no connection attempted", async () => {
    const r = await run({});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("refusing to run");
    expect(r.stderr).toContain("KEYUP_AWS_SANDBOX_PROFILE is not set");
    expect(r.stderr).toContain("KEYUP_AWS_SANDBOX_ACCOUNT_ID");
    expect(r.connections).toBe("");
  });

  test("a profile without an account id, or an account id that is not 12 digits: refused the same way", async () => {
    const noAccount = await run({ KEYUP_AWS_SANDBOX_PROFILE: "sandbox-admin" });
    expect(noAccount.code).toBe(2);
    expect(noAccount.stderr).toContain("KEYUP_AWS_SANDBOX_ACCOUNT_ID is not set");
    const badAccount = await run({ KEYUP_AWS_SANDBOX_PROFILE: "sandbox-admin", KEYUP_AWS_SANDBOX_ACCOUNT_ID: "prod" });
    expect(badAccount.code).toBe(2);
    expect(badAccount.stderr).toContain("must be a 12-digit account id");
    expect(noAccount.connections + badAccount.connections).toBe("");
  });
});

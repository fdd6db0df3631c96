import { ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { beforeEach, expect, test } from "vitest";
import { runExampleScript } from "../test-support/example-script.js";
import { iamClient, motoUrl, resetEmulator } from "../test-support/moto.js";
import { LOCAL_RUNS } from "./local-runs.js";

beforeEach(resetEmulator);

/** `pnpm example <name>` without the build step `pnpm test` has already done. */
function example(args: string[], settings: Record<string, string> = {}) {
  return runExampleScript("run.ts", settings, args);
}

/** The indented lines under a heading of the runner's output ("Keys after:"), as [name, rest] pairs. */
function section(stdout: string, heading: string): [string, string][] {
  const start = stdout.indexOf(`\n${heading}\n`);
  if (start < 0) return [];
  const lines = stdout.slice(start + heading.length + 2).split("\n");
  const body = lines.slice(
    0,
    lines.findIndex((line) => !line.startsWith("  ")),
  );
  return body.map((line) => {
    const at = line.lastIndexOf(": ");
    return [line.slice(2, at), line.slice(at + 2)];
  });
}

/**
 * The user's access keys as IAM lists them, asked directly rather than through the runner. The runner's
 * admin key is not known here, so authentication is turned off first (moto's state dump is no help: it
 * lists deleted keys too).
 */
async function iamKeys(userName: string): Promise<{ id: string; status: string }[]> {
  await fetch(`${motoUrl()}/moto-api/reset-auth`, { method: "POST", body: "inf", headers: { "content-type": "text/plain" } });
  const out = await iamClient().send(new ListAccessKeysCommand({ UserName: userName }));
  return (out.AccessKeyMetadata ?? []).map((k) => ({ id: k.AccessKeyId ?? "", status: k.Status ?? "" }));
}

// Secrets the emulator makes are 40 characters of this alphabet; key ids are 20, paths and ARNs have other characters.
const SECRET_SHAPE = /[A-Za-z0-9/+]{40}/;

test("with no name the runner lists every example; an unknown name is a usage error that lists them too", async () => {
  const listed = await example([]);
  expect(listed.code).toBe(0);
  const unknown = await example(["no-such-example"]);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('no example named "no-such-example"');
  for (const name of ["ci-rotate", "multi-store", "fleet", "custom-store", "secretsmanager-rotation-lambda"]) {
    const line = listed.stdout.split("\n").find((l) => l.startsWith(`  ${name} `));
    expect(line?.endsWith(LOCAL_RUNS[name]?.summary ?? "no summary")).toBe(true);
    expect(unknown.stderr).toContain(`  ${name} `);
  }
});

test.each(["ci-rotate", "multi-store", "fleet"])("`pnpm example %s` rotates every seeded key and shows each place holding the new one", async (name) => {
  const { code, stdout, stderr } = await example([name], { KEYUP_EXAMPLE_MOTO_URL: motoUrl() });

  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(stdout).toContain("(exit code 0)");
  const before = section(stdout, "Keys before:");
  const after = section(stdout, "Keys after:");
  const held = section(stdout, "Held after:");
  expect(before.length).toBeGreaterThan(0);
  expect(after.map(([user]) => user)).toEqual(before.map(([user]) => user));
  for (const [user, keys] of after) {
    const [oldId] = (before.find(([u]) => u === user)?.[1] ?? "").split(" ");
    const [newId, status] = keys.split(" ");
    // What the runner shows is what moto holds: one new active key per user, the old one deleted.
    expect(await iamKeys(user)).toEqual([{ id: newId, status: "Active" }]);
    expect(status).toBe("(Active)");
    expect(newId).not.toBe(oldId);
  }
  // Every place the example wrote holds one of the new keys.
  const newIds = after.map(([, keys]) => keys.split(" ")[0]);
  expect(held.length).toBeGreaterThan(0);
  for (const [, id] of held) expect(newIds).toContain(id);
  expect(stdout).not.toMatch(SECRET_SHAPE);
});

test("`pnpm example secretsmanager-rotation-lambda` runs two rotations: the old key stays Active after the first, the second retires it", async () => {
  const { code, stdout, stderr } = await example(["secretsmanager-rotation-lambda"], { KEYUP_EXAMPLE_MOTO_URL: motoUrl() });

  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(stdout.split("(exit code 0)").length).toBe(3);
  const keys = (heading: string) =>
    (section(stdout, heading).find(([user]) => user === "app")?.[1] ?? "").split(", ").map((k) => {
      const [id, status] = k.split(" ");
      return { id, status };
    });
  const [original] = keys("Keys before:");
  const afterFirst = keys("Keys after the first run:");
  const afterSecond = keys("Keys after:");
  // next-rotation, the default: finishSecret only moves the labels, the replaced key stays Active.
  expect(afterFirst).toHaveLength(2);
  expect(afterFirst[0]).toEqual({ id: original?.id, status: "(Active)" });
  const firstNew = afterFirst[1]?.id;
  expect(firstNew).not.toBe(original?.id);
  // The second rotation retired the original key and kept the first rotation's key Active under AWSPREVIOUS.
  expect(afterSecond.map((k) => k.id)).not.toContain(original?.id);
  expect(afterSecond[0]).toEqual({ id: firstNew, status: "(Active)" });
  const secondNew = afterSecond[1]?.id;
  expect(await iamKeys("app")).toEqual([
    { id: firstNew, status: "Active" },
    { id: secondNew, status: "Active" },
  ]);
  expect(section(stdout, "Held after:").map(([, id]) => id)).toEqual([secondNew]);
  expect(stdout).toContain(`deactivated and deleted key ${original?.id} (the AWSPREVIOUS key`);
  expect(stdout).not.toMatch(SECRET_SHAPE);
});

test("without KEYUP_EXAMPLE_MOTO_URL the runner starts its own emulator and stops it afterwards", async () => {
  const { code, stdout } = await example(["ci-rotate"]);

  expect(code).toBe(0);
  const url = /Local AWS emulator \(moto\) at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
  expect(url).toBeDefined();
  expect(url).not.toBe(motoUrl());
  expect(stdout).toMatch(/rotated ci-bot: AKIA\w+ -> AKIA\w+/);
  // It was sent SIGTERM as the runner finished; give it a moment to go.
  const answers = () =>
    fetch(`${url}/moto-api/data.json`).then(
      () => "answers",
      () => "stopped",
    );
  await expect.poll(answers, { timeout: 5_000 }).toBe("stopped");
  expect(stdout).not.toMatch(SECRET_SHAPE);
});

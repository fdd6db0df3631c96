import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { afterAll, beforeEach, describe, expect, test } from "vitest";
import { awsErrorXml, type ProxiedRequest, type ProxyVerdict, startAwsProxy } from "../../../test-support/aws-proxy.js";
import { cleanEnv, keyup, spawnKeyup } from "../../../test-support/cli.js";
import {
  createAdmin,
  createUser,
  enforceAuth,
  iamClient,
  keysOf,
  motoUrl,
  resetEmulator,
  type TestKey,
  tempDir,
  workingKey,
} from "../../../test-support/moto.js";

/**
 * The fault-injection suite: the real CLI as a child process, talking to moto through a loopback proxy
 * that injects one fault into one AWS call. Then the CLI runs again with no fault, and the invariants
 * are checked: the credentials file holds a key that works (read by the AWS CLI), every key in IAM is
 * known to the file or the journal, no secret is lost, files are 0600.
 */
const run = promisify(execFile);

type FaultKind = "aws-error" | "5xx-after-landing" | "connection-reset" | "hang" | "sigkill-after-landing";
const FAULTS: FaultKind[] = ["aws-error", "5xx-after-landing", "connection-reset", "hang", "sigkill-after-landing"];

/** The AWS calls a rotation makes, and how to recognise each at the proxy. */
interface Target {
  name: string;
  scenario: "plain" | "verify-fails" | "delete-inactive";
  match: (r: ProxiedRequest, oldKey: string) => boolean;
}
const TARGETS: Target[] = [
  { name: "GetCallerIdentity (who am I)", scenario: "plain", match: (r, old) => r.action === "GetCallerIdentity" && r.accessKeyId === old },
  { name: "ListAccessKeys", scenario: "plain", match: (r) => r.action === "ListAccessKeys" },
  { name: "DeleteAccessKey (Inactive other key)", scenario: "delete-inactive", match: (r, old) => r.action === "DeleteAccessKey" && r.accessKeyId === old },
  { name: "CreateAccessKey", scenario: "plain", match: (r) => r.action === "CreateAccessKey" },
  { name: "GetCallerIdentity (verify new key)", scenario: "plain", match: (r, old) => r.action === "GetCallerIdentity" && r.accessKeyId !== old },
  { name: "UpdateAccessKey (deactivate old)", scenario: "plain", match: (r) => r.action === "UpdateAccessKey" },
  { name: "DeleteAccessKey (delete old)", scenario: "plain", match: (r, old) => r.action === "DeleteAccessKey" && r.accessKeyId !== old },
  { name: "DeleteAccessKey (rollback: delete new)", scenario: "verify-fails", match: (r, old) => r.action === "DeleteAccessKey" && r.accessKeyId === old },
];

/**
 * Garbled answers to a CreateAccessKey that landed (issue 15): none proves that nothing was created, so
 * each must go through reconcile, never leave the new key Active in IAM with nobody holding it.
 */
const GARBLED_CREATE_ANSWERS: Record<string, { status: number; body: string; contentType?: string }> = {
  "garbled: truncated XML": { status: 200, body: "<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><AccessKeyId>AKIA" },
  "garbled: HTML 502": { status: 502, contentType: "text/html", body: "<html><body><h1>502 Bad Gateway</h1></body></html>" },
  "garbled: 500 empty": { status: 500, body: "" },
  "garbled: 504 text": { status: 504, contentType: "text/plain", body: "Gateway Timeout" },
  "garbled: JSON body": { status: 200, contentType: "application/json", body: '{"AccessKey":null}' },
  "garbled: unknown error": { status: 400, body: awsErrorXml("SomethingNobodyKnows", "odd") },
};

const summary: { target: string; fault: string; firstExit: string; runsToSettle: number; survived: boolean }[] = [];

let admin: TestKey;
beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});

afterAll(() => {
  const survived = summary.filter((s) => s.survived).length;
  const rows = summary.map(
    (s) =>
      `| ${s.target.padEnd(40)} | ${s.fault.padEnd(21)} | ${s.firstExit.padEnd(12)} | ${String(s.runsToSettle).padEnd(5)} | ${s.survived ? "yes" : "NO"} |`,
  );
  console.log(
    [
      "",
      "Fault injection summary (keyup up --auto through a fault-injecting proxy, then rerun)",
      `| ${"AWS call".padEnd(40)} | ${"fault".padEnd(21)} | ${"first exit".padEnd(12)} | runs  | invariants hold |`,
      `|${"-".repeat(42)}|${"-".repeat(23)}|${"-".repeat(14)}|-------|-----------------|`,
      ...rows,
      `faults injected: ${summary.length}, faults survived: ${survived}`,
      "",
    ].join("\n"),
  );
});

function verdictFor(fault: FaultKind, kill: () => void): ProxyVerdict {
  switch (fault) {
    case "aws-error":
      return { status: 403, body: awsErrorXml("AccessDenied", "injected: not authorized") };
    case "5xx-after-landing":
      return { forwardThen: { status: 503, body: awsErrorXml("ServiceUnavailable", "injected") } };
    case "connection-reset":
      return "reset";
    case "hang":
      return "hang";
    case "sigkill-after-landing":
      return { forwardThen: "hang", after: kill };
  }
}

async function setup(scenario: Target["scenario"]) {
  const user = await createUser("fault-bot", { keys: scenario === "delete-inactive" ? 2 : 1 });
  const [old, other] = user.keys as [TestKey, TestKey | undefined];
  if (scenario === "delete-inactive" && other) {
    await iamClient().send(new UpdateAccessKeyCommand({ UserName: "fault-bot", AccessKeyId: other.accessKeyId, Status: "Inactive" }));
  }
  const dir = await tempDir();
  const file = join(dir, "credentials");
  await writeFile(
    file,
    `# fault suite\r\n[p]\r\naws_access_key_id = ${old.accessKeyId}\r\naws_secret_access_key = ${old.secretAccessKey}\r\nregion = us-east-1\r\n`,
    { mode: 0o600 },
  );
  await enforceAuth();
  return { user, old, dir, file };
}

function fileKey(text: string): TestKey {
  return {
    accessKeyId: /aws_access_key_id = (\S+)/.exec(text)?.[1] ?? "",
    secretAccessKey: /aws_secret_access_key = (\S+)/.exec(text)?.[1] ?? "",
  };
}

/** Every file keyup wrote next to the credentials is 0600, and the journal's keys are listed. */
async function journalAndModes(file: string): Promise<string[]> {
  const journal = `${file}.keyup-journal.p`;
  for (const path of [file, `${file}.keyup-backup.p`, journal]) {
    if (existsSync(path)) expect((await stat(path)).mode & 0o777, path).toBe(0o600);
  }
  if (!existsSync(journal)) return [];
  const entry = JSON.parse(await readFile(journal, "utf8")) as { secrets: { old?: TestKey; new?: TestKey } };
  return [entry.secrets.old?.accessKeyId, entry.secrets.new?.accessKeyId].filter((x): x is string => Boolean(x));
}

async function assertInvariants(file: string, userArn: string, keepIds: string[]) {
  const held = fileKey(await readFile(file, "utf8"));
  // The file holds a working key, as an independent reader (the AWS CLI) sees it.
  const { stdout } = await run("aws", ["sts", "get-caller-identity", "--profile", "p", "--endpoint-url", motoUrl(), "--output", "json"], {
    env: cleanEnv({ AWS_SHARED_CREDENTIALS_FILE: file, HOME: file.replace(/\/credentials$/, "") }),
  });
  expect(JSON.parse(stdout).Arn, "the file holds a working key").toBe(userArn);
  const journaled = await journalAndModes(file);
  for (const k of await keysOf(admin, "fault-bot")) {
    expect([held.accessKeyId, ...journaled, ...keepIds], `IAM key ${k.id} is known to the file or the journal`).toContain(k.id);
  }
}

describe("a fault at every AWS call of a rotation, then a rerun: the invariants hold", () => {
  for (const target of TARGETS) {
    for (const fault of FAULTS) {
      test(`${target.name}: ${fault}`, () => faultThenRerun(target, fault, (kill) => verdictFor(fault, kill)));
    }
  }
});

describe("a garbled answer to a CreateAccessKey that landed, then a rerun: the invariants hold (no orphan)", () => {
  const create = TARGETS.find((t) => t.name === "CreateAccessKey") as Target;
  for (const [fault, answer] of Object.entries(GARBLED_CREATE_ANSWERS)) {
    test(`${create.name}: ${fault}`, () => faultThenRerun(create, fault, () => ({ forwardThen: answer })));
  }
});

async function faultThenRerun(target: Target, fault: string, verdict: (kill: () => void) => ProxyVerdict): Promise<void> {
  const { user, old, file } = await setup(target.scenario);
  let injected = false;
  let kill: () => void = () => undefined;
  const proxy = await startAwsProxy(motoUrl(), (r) => {
    // The verify-fails scenario: the new key is never accepted, so the rotation must roll back.
    if (target.scenario === "verify-fails" && r.action === "GetCallerIdentity" && r.accessKeyId !== old.accessKeyId) {
      return { status: 403, body: awsErrorXml("InvalidClientTokenId") };
    }
    if (injected || !target.match(r, old.accessKeyId)) return undefined;
    injected = true;
    return verdict(() => kill());
  });
  const env = { AWS_SHARED_CREDENTIALS_FILE: file, HOME: file.replace(/\/credentials$/, "") };
  const extra = target.scenario === "delete-inactive" ? ["--delete-inactive"] : [];
  const verify = target.scenario === "verify-fails" ? ["--verify-timeout", "1"] : [];
  try {
    const first = spawnKeyup(
      ["--profile", "p", "--operation", "up", "--auto", "--request-timeout", "1", "--endpoint-url", proxy.url, ...extra, ...verify],
      env,
    );
    kill = () => first.child.kill("SIGKILL");
    const firstRun = await first.done;
    expect(injected, "the fault was injected").toBe(true);

    // Right after the fault, before any rerun: the file must hold a key that works.
    const afterFault = fileKey(await readFile(file, "utf8"));
    expect(await workingKey(afterFault)).toBe(user.arn);

    // Rerun without faults until no journal is left (a resumed rollback ends the rotation it resumes).
    let runs = 1;
    while (existsSync(`${file}.keyup-journal.p`) && runs < 4) {
      await keyup(["--profile", "p", "--operation", "up", "--auto", "--endpoint-url", motoUrl(), ...extra], env);
      runs += 1;
    }
    expect(existsSync(`${file}.keyup-journal.p`), "journal settled").toBe(false);
    const keep =
      target.scenario === "delete-inactive"
        ? (await keysOf(admin, "fault-bot")).map((k) => k.id).filter((id) => id !== fileKey(readFileSync(file, "utf8")).accessKeyId)
        : [];
    await assertInvariants(file, user.arn, keep);
    summary.push({ target: target.name, fault, firstExit: firstRun.signal ?? String(firstRun.code), runsToSettle: runs, survived: true });
  } catch (error) {
    summary.push({ target: target.name, fault, firstExit: "-", runsToSettle: 0, survived: false });
    throw error;
  } finally {
    await proxy.close();
  }
}

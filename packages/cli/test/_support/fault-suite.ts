import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { afterAll, beforeEach, describe, expect, test } from "vitest";
import { awsErrorXml, type ProxiedRequest, type ProxyVerdict, startAwsProxy } from "../../../../test-support/aws-proxy.js";
import { cleanEnv, keyup, spawnKeyup } from "../../../../test-support/cli.js";
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
} from "../../../../test-support/moto.js";

/**
 * The fault-injection suite, shared by the packages/cli/test/faults-*.int.test.ts files (each runs a
 * share of the AWS calls, so the shares run side by side on their own moto servers; importing this
 * module registers its hooks in the importing file): the real CLI as a child process, talking to moto through a loopback proxy
 * that injects one fault into one AWS call, on every attempt at it for as long as the first run lasts
 * (keyup's clients try a call up to 6 times and keyup retries some steps itself, so a fault injected
 * once would only test those retries, not what keyup does when a call keeps failing). The first run's exit
 * code and what it left are checked against what docs/cli.md promises for that fault; file modes are
 * checked while the journal exists. Then the CLI runs again with no fault (after exit 3, once the steps it
 * printed to finish by hand are followed) until the rotation is done, and the invariants are checked: the
 * credentials file holds a new key that works and is Active (read by the AWS CLI), every key in IAM is
 * known to the file or the journal (nothing is exempt), no secret is lost, files are 0600.
 */
const run = promisify(execFile);

type FaultKind = "aws-error" | "5xx-after-landing" | "connection-reset" | "hang" | "sigkill-after-landing";
const FAULTS: FaultKind[] = ["aws-error", "5xx-after-landing", "connection-reset", "hang", "sigkill-after-landing"];

/**
 * What the first run must end with (docs/cli.md's exit codes) and what the credentials file must hold
 * right after it. `SIGKILL`: the run was killed mid-call, so the journal must be there.
 */
type FirstRun = { exit: "0" | "1" | "3" | "5" | "SIGKILL"; holds: "old" | "new" };

/** The AWS calls a rotation makes, and how to recognise each at the proxy. */
interface Target {
  name: string;
  scenario: "plain" | "verify-fails" | "delete-inactive";
  match: (r: ProxiedRequest, oldKey: string) => boolean;
  /** The first run's outcome for each fault but the kill (which always leaves SIGKILL and a journal). */
  expect: Record<Exclude<FaultKind, "sigkill-after-landing">, FirstRun>;
  /** What the file holds after a kill at this call. */
  killedHolds: "old" | "new";
}
const failed: FirstRun = { exit: "1", holds: "old" };
const allFail = { "aws-error": failed, "5xx-after-landing": failed, "connection-reset": failed, hang: failed };
const warned: FirstRun = { exit: "3", holds: "new" };
const allWarn = { "aws-error": warned, "5xx-after-landing": warned, "connection-reset": warned, hang: warned };
const TARGETS: Target[] = [
  {
    name: "GetCallerIdentity (who am I)",
    scenario: "plain",
    match: (r, old) => r.action === "GetCallerIdentity" && r.accessKeyId === old,
    expect: allFail,
    killedHolds: "old",
  },
  { name: "ListAccessKeys", scenario: "plain", match: (r) => r.action === "ListAccessKeys", expect: allFail, killedHolds: "old" },
  {
    name: "DeleteAccessKey (Inactive other key)",
    scenario: "delete-inactive",
    match: (r, old) => r.action === "DeleteAccessKey" && r.accessKeyId === old,
    expect: allFail,
    killedHolds: "old",
  },
  { name: "CreateAccessKey", scenario: "plain", match: (r) => r.action === "CreateAccessKey", expect: allFail, killedHolds: "old" },
  {
    name: "GetCallerIdentity (verify new key)",
    scenario: "plain",
    match: (r, old) => r.action === "GetCallerIdentity" && r.accessKeyId !== old,
    expect: allFail,
    killedHolds: "new",
  },
  { name: "UpdateAccessKey (deactivate old)", scenario: "plain", match: (r) => r.action === "UpdateAccessKey", expect: allWarn, killedHolds: "new" },
  {
    name: "DeleteAccessKey (delete old)",
    scenario: "plain",
    match: (r, old) => r.action === "DeleteAccessKey" && r.accessKeyId !== old,
    expect: allWarn,
    killedHolds: "new",
  },
  {
    name: "DeleteAccessKey (rollback: delete new)",
    scenario: "verify-fails",
    match: (r, old) => r.action === "DeleteAccessKey" && r.accessKeyId === old,
    expect: {
      "aws-error": { exit: "5", holds: "old" },
      "5xx-after-landing": { exit: "5", holds: "old" },
      "connection-reset": { exit: "5", holds: "old" },
      hang: { exit: "5", holds: "old" },
    },
    killedHolds: "old",
  },
];

const summary: { target: string; fault: FaultKind; firstExit: string; runsToSettle: number; survived: boolean }[] = [];
const observed: string[] = [];

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
      "first runs:",
      ...observed,
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
  return { user, old, dir, file, inactive: scenario === "delete-inactive" ? other?.accessKeyId : undefined };
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

/** The commands keyup printed on stderr as "keyup: to finish by hand: <command>". */
function handSteps(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("keyup: to finish by hand: "))
    .map((line) => line.slice("keyup: to finish by hand: ".length).trim());
}

/**
 * Runs a printed `aws ...` command with the real AWS CLI against moto, signed by the admin. A delete
 * step whose key is already gone counts as done (NoSuchEntity): when a DeleteAccessKey landed but every
 * answer was lost, keyup cannot know the key is gone, and a user running the step learns it this way.
 */
async function awsAsAdmin(command: string): Promise<"done" | "already done"> {
  const [bin, ...args] = command.split(/\s+/);
  expect(bin, "a printed step runs the AWS CLI").toBe("aws");
  try {
    await run("aws", [...args, "--endpoint-url", motoUrl(), "--region", "us-east-1"], {
      env: cleanEnv({ AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey }),
    });
    return "done";
  } catch (error) {
    if (args[0] === "iam" && args[1] === "delete-access-key" && /\(NoSuchEntity\)/.test(String((error as { stderr?: unknown }).stderr))) return "already done";
    throw error;
  }
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

/** The AWS calls the suite injects faults into, by name, in the order a rotation makes them. */
export const FAULT_TARGETS: readonly string[] = TARGETS.map((t) => t.name);

/**
 * Every fault at each of the named AWS calls, then a rerun: the invariants hold.
 *
 * @example
 * ```ts
 * describeFaultsAt(FAULT_TARGETS.slice(0, 3));
 * ```
 */
export function describeFaultsAt(names: readonly string[]): void {
  const targets = TARGETS.filter((t) => names.includes(t.name));
  expect(
    targets.map((t) => t.name),
    "every named target exists",
  ).toEqual([...names]);
  describe("a fault at every AWS call of a rotation, then a rerun: the invariants hold", () => {
    for (const target of targets) {
      for (const fault of FAULTS) {
        test(`${target.name}: ${fault}`, async () => {
          const { user, old, file, inactive } = await setup(target.scenario);
          let injected = 0;
          let firstRunning = true;
          let observedExit = "-";
          let kill: () => void = () => undefined;
          const proxy = await startAwsProxy(motoUrl(), (r) => {
            // The verify-fails scenario: the new key is never accepted, so the rotation must roll back.
            if (target.scenario === "verify-fails" && r.action === "GetCallerIdentity" && r.accessKeyId !== old.accessKeyId) {
              return { status: 403, body: awsErrorXml("InvalidClientTokenId") };
            }
            // The fault lasts the whole first run (a kill happens once); reruns see none.
            if (!firstRunning || (fault === "sigkill-after-landing" && injected > 0) || !target.match(r, old.accessKeyId)) return undefined;
            injected += 1;
            return verdictFor(fault, () => kill());
          });
          const env = { AWS_SHARED_CREDENTIALS_FILE: file, HOME: file.replace(/\/credentials$/, "") };
          const extra = target.scenario === "delete-inactive" ? ["--delete-inactive"] : [];
          // A verify or retire step that keeps failing gives up after this long instead of the default 30 s.
          const verify = ["--verify-timeout", target.scenario === "verify-fails" ? "1" : "3"];
          try {
            const first = spawnKeyup(
              ["--profile", "p", "--operation", "up", "--auto", "--request-timeout", "1", "--endpoint-url", proxy.url, ...extra, ...verify],
              env,
            );
            kill = () => first.child.kill("SIGKILL");
            const firstRun = await first.done;
            firstRunning = false;
            expect(injected, "the fault was injected").toBeGreaterThan(0);
            const firstExit = firstRun.signal ?? String(firstRun.code);
            observedExit = firstExit;
            const want: FirstRun = fault === "sigkill-after-landing" ? { exit: "SIGKILL", holds: target.killedHolds } : target.expect[fault];
            observed.push(`${target.name} | ${fault} | exit ${firstExit} | injected ${injected} | stderr ${firstRun.stderr.trim().split("\n").pop()}`);

            // Right after the fault, before any rerun: the file must hold a key that works and is Active,
            // the one the documented outcome says, and every file must be 0600 while the journal is there.
            const afterFault = fileKey(await readFile(file, "utf8"));
            expect(await workingKey(afterFault)).toBe(user.arn);
            expect(firstExit, `first run's exit code (stderr: ${firstRun.stderr.trim()})`).toBe(want.exit);
            expect(afterFault.accessKeyId === old.accessKeyId ? "old" : "new", "the key the file holds after the first run").toBe(want.holds);
            if (want.exit === "SIGKILL") expect(existsSync(`${file}.keyup-journal.p`), "a killed run leaves its journal").toBe(true);
            if (want.exit === "1" || want.exit === "0" || want.exit === "3")
              expect(existsSync(`${file}.keyup-journal.p`), "a run that ended leaves no journal").toBe(false);
            if (want.exit === "3") expect(firstRun.stderr, "exit 3 says which old key was not retired").toContain(old.accessKeyId);
            await journalAndModes(file);

            // Exit 3: the rotation is done but the old key is the user's to retire, and keyup printed how.
            // Follow the printed steps as a user would (the real `aws` CLI, as the admin); they must name
            // the old key and be enough: the invariants below exempt nothing.
            if (want.exit === "3") {
              const steps = handSteps(firstRun.stderr);
              expect(steps.length, "exit 3 prints the steps to finish by hand").toBeGreaterThan(0);
              for (const step of steps) {
                expect(step, "a printed step is an aws iam command about the old key").toMatch(
                  new RegExp(`^aws iam [a-z-]+ .*--access-key-id ${old.accessKeyId}(\\s|$)`),
                );
                observed.push(`${target.name} | ${fault} | printed step ${await awsAsAdmin(step)}: ${step}`);
              }
            }

            // Rerun without faults until no journal is left (a resumed rollback ends the rotation it resumes).
            const rerun = ["--profile", "p", "--operation", "up", "--auto", "--endpoint-url", motoUrl(), ...extra];
            let runs = 1;
            while (existsSync(`${file}.keyup-journal.p`) && runs < 4) {
              await keyup(rerun, env);
              runs += 1;
            }
            expect(existsSync(`${file}.keyup-journal.p`), "journal settled").toBe(false);
            // A run that failed or rolled back changed nothing: one plain rerun must then rotate.
            if (fileKey(await readFile(file, "utf8")).accessKeyId === old.accessKeyId) {
              const again = await keyup(rerun, env);
              runs += 1;
              expect(again.code, `a rerun after a failed rotation rotates (stderr: ${again.stderr.trim()})`).toBe(0);
            }
            expect(fileKey(await readFile(file, "utf8")).accessKeyId, "the file holds a new key once the rotation settled").not.toBe(old.accessKeyId);
            // Nothing is exempt: with --delete-inactive the Inactive key must be gone once the rotation settles.
            await assertInvariants(file, user.arn, []);
            if (inactive)
              expect(
                (await keysOf(admin, "fault-bot")).map((k) => k.id),
                "--delete-inactive deleted the Inactive key",
              ).not.toContain(inactive);
            summary.push({ target: target.name, fault, firstExit: firstRun.signal ?? String(firstRun.code), runsToSettle: runs, survived: true });
          } catch (error) {
            summary.push({ target: target.name, fault, firstExit: observedExit, runsToSettle: 0, survived: false });
            throw error;
          } finally {
            await proxy.close();
          }
        });
      }
    }
  });
}

/**
 * Garbled answers to a CreateAccessKey that landed (issue 15): none proves that nothing was created, so
 * each must go through reconcile, never leave the new key Active in IAM with nobody holding it.
 */
const GARBLED_CREATE_ANSWERS: Record<string, { status: number; body: string; contentType?: string }> = {
  "truncated XML": { status: 200, body: "<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><AccessKeyId>AKIA" },
  "HTML 502": { status: 502, contentType: "text/html", body: "<html><body><h1>502 Bad Gateway</h1></body></html>" },
  "500 empty": { status: 500, body: "" },
  "504 text": { status: 504, contentType: "text/plain", body: "Gateway Timeout" },
  "JSON body": { status: 200, contentType: "application/json", body: '{"AccessKey":null}' },
  "unknown error": { status: 400, body: awsErrorXml("SomethingNobodyKnows", "odd") },
};

/**
 * Each garbled answer to a CreateAccessKey that landed, then a rerun: no orphan.
 *
 * @example
 * ```ts
 * describeGarbledCreate();
 * ```
 */
export function describeGarbledCreate(): void {
  describe("a garbled answer to a CreateAccessKey that landed, then a rerun: the invariants hold (no orphan)", () => {
    for (const [fault, answer] of Object.entries(GARBLED_CREATE_ANSWERS)) {
      test(`CreateAccessKey: garbled: ${fault}`, async () => {
        const { user, file } = await setup("plain");
        let injected = 0;
        const proxy = await startAwsProxy(motoUrl(), (r) => (r.action === "CreateAccessKey" && injected++ === 0 ? { forwardThen: answer } : undefined));
        const env = { AWS_SHARED_CREDENTIALS_FILE: file, HOME: file.replace(/\/credentials$/, "") };
        try {
          await spawnKeyup(["--profile", "p", "--operation", "up", "--auto", "--request-timeout", "1", "--endpoint-url", proxy.url], env).done;
          expect(injected, "the garbled answer was sent").toBeGreaterThan(0);
          expect(await workingKey(fileKey(await readFile(file, "utf8")))).toBe(user.arn);
          let runs = 1;
          while (existsSync(`${file}.keyup-journal.p`) && runs < 4) {
            await keyup(["--profile", "p", "--operation", "up", "--auto", "--endpoint-url", motoUrl()], env);
            runs += 1;
          }
          expect(existsSync(`${file}.keyup-journal.p`), "journal settled").toBe(false);
          await assertInvariants(file, user.arn, []);
        } finally {
          await proxy.close();
        }
      });
    }
  });
}

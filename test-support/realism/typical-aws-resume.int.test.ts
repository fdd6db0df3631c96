import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { keyup, spawnKeyup } from "../cli.js";
import { credentialsText } from "../emulator.js";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey } from "../moto.js";
import { watchFolder } from "../secrets.js";
import { TYPICAL_AWS } from "./profiles.js";
import { type RealismProxy, startRealismProxy } from "./realism-proxy.js";

// Issue 11: crash and resume under TYPICAL_AWS. The real CLI, a child process, rotates one profile of
// an INI file through the realism proxy and is SIGKILLed at a point of the rotation; then the same
// command is run again at once, as a user would, and must finish the rotation. The rerun meets AWS's
// lags: the new key is refused by STS for 2 s and IAM for 5 s after its creation, and missing from
// ListAccessKeys for 1 s. A rerun takes a second or two to make its first call, past that 1 s, so two
// more cases make the list lag outlast the restart: the rerun's first ListAccessKeys does not show the
// key, which is listed from 1 s later on (the lag is stretched to end then). Each case has its own
// user, file and proxy (the kill hooks are per proxy).

let admin: TestKey;
const folders: string[] = [];

/** Where the first run is killed. */
type KillPoint = "create-landed" | "verifying" | "deactivated";

interface Case {
  readonly name: string;
  readonly kill: KillPoint;
  /** The rerun's first ListAccessKeys misses the new key, listed from 1 s later on. */
  readonly lagOutlastsRestart: boolean;
  user: string;
  arn: string;
  old: TestKey;
  dir: string;
  original: string;
  proxy: RealismProxy;
}

const plans: Pick<Case, "name" | "kill" | "lagOutlastsRestart">[] = [
  { name: "(a) killed right after CreateAccessKey landed, its answer never read", kill: "create-landed", lagOutlastsRestart: false },
  { name: "(b) killed during verify, the file already holding the new key", kill: "verifying", lagOutlastsRestart: false },
  { name: "(c) killed right after UpdateAccessKey deactivated the old key", kill: "deactivated", lagOutlastsRestart: false },
  {
    name: "(a), the list lag outlasting the restart: the rerun's reconcile lists again until the lost key shows",
    kill: "create-landed",
    lagOutlastsRestart: true,
  },
  { name: "(b), the list lag outlasting the restart: the resume's check lists again until the new key shows", kill: "verifying", lagOutlastsRestart: true },
];
const cases: Case[] = plans.map((c) => ({
  ...c,
  user: "",
  arn: "",
  old: undefined as unknown as TestKey,
  dir: "",
  original: "",
  proxy: undefined as unknown as RealismProxy,
}));

type Outcome = "ok" | string;
const outcome = (call: Promise<unknown>): Promise<Outcome> =>
  call.then(
    () => "ok",
    (e: Error) => e.name,
  );

/** What AWS (as the proxy models it) says to `key` now, on STS and on IAM (the proxy refuses Inactive keys, moto does not). */
async function through(key: TestKey, p: RealismProxy): Promise<{ sts: Outcome; iam: Outcome; arn?: string }> {
  const config = { region: "us-east-1", endpoint: p.url, credentials: key, maxAttempts: 6 };
  let arn: string | undefined;
  const sts = await outcome(
    new STSClient(config).send(new GetCallerIdentityCommand({})).then((o) => {
      arn = o.Arn;
    }),
  );
  const iam = await outcome(new IAMClient(config).send(new ListAccessKeysCommand({})));
  return { sts, iam, ...(arn ? { arn } : {}) };
}

/** The key of `profile` in an INI text. */
function profileKey(text: string, profile: string): TestKey {
  const section = text.split(/^\[/m).find((s) => s.startsWith(`${profile}]`)) ?? "";
  return {
    accessKeyId: /aws_access_key_id\s*=\s*(\S+)/.exec(section)?.[1] ?? "",
    secretAccessKey: /aws_secret_access_key\s*=\s*(\S+)/.exec(section)?.[1] ?? "",
  };
}

const replaced = (original: string, from: TestKey, to: TestKey) =>
  original.replace(from.accessKeyId, to.accessKeyId).replace(from.secretAccessKey, to.secretAccessKey);

const mode = async (path: string) => (await stat(path)).mode & 0o777;

/**
 * Stretches the list lag so that the rerun's first ListAccessKeys misses the new key and the key is
 * listed from 1 s later on (within the ~4 s keyup lists again for). The proxy hides a key while
 * model time since its creation is under `listLagMs`, read at each list.
 */
function lagOutlastingRestart(c: Case): void {
  const created = c.proxy.requests.find((r) => r.action === "CreateAccessKey" && r.status === 200)?.at ?? 0;
  c.proxy.configure({ listLagMs: 10 * 60_000 });
  c.proxy.rewriteAnswers((action, answer) => {
    if (action !== "ListAccessKeys" || answer.status !== 200) return undefined;
    c.proxy.configure({ listLagMs: c.proxy.clock.modelNow() - created + 1_000 });
    c.proxy.rewriteAnswers(undefined);
    return undefined;
  });
}

/**
 * Arms the kill: `create-landed` and `deactivated` kill from the proxy once moto has acted on the call
 * (before the answer is written back, so the child dies without it); `verifying` kills once a
 * GetCallerIdentity signed by a key other than the old one arrives (verify runs after install).
 */
function armKill(c: Case, kill: () => void): () => void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    kill();
  };
  if (c.kill === "verifying") {
    const timer = setInterval(() => {
      if (c.proxy.requests.some((r) => r.action === "GetCallerIdentity" && r.accessKeyId !== c.old.accessKeyId)) once();
    }, 5);
    return () => clearInterval(timer);
  }
  const action = c.kill === "create-landed" ? "CreateAccessKey" : "UpdateAccessKey";
  c.proxy.rewriteAnswers((a, answer) => {
    if (a === action && answer.status === 200) once();
    return undefined;
  });
  return () => c.proxy.rewriteAnswers(undefined);
}

beforeAll(async () => {
  await resetEmulator();
  admin = await createAdmin();
  for (const [i, c] of cases.entries()) {
    const u = await createUser(`typical-resume-${i}`);
    c.user = u.userName;
    c.arn = u.arn;
    c.old = u.keys[0] as TestKey;
    c.dir = await mkdtemp(join(tmpdir(), "keyup-typical-resume-"));
    folders.push(c.dir);
    c.original = credentialsText("team credentials", [
      { name: "default", key: { accessKeyId: "AKIADEFAULTDEFAULT01", secretAccessKey: "defaultSecretThatStaysExactlyTheSame0001" } },
      { name: "ci", key: c.old, comment: "the profile keyup rotates" },
      { name: "other", key: { accessKeyId: "AKIAOTHEROTHEROTHER1", secretAccessKey: "otherSecretThatStaysExactlyTheSame000002" } },
    ]);
    await writeFile(join(c.dir, "credentials"), c.original, { mode: 0o600 });
  }
  await enforceAuth();
  for (const c of cases) c.proxy = await startRealismProxy(motoUrl(), TYPICAL_AWS);
}, 120_000);

afterAll(async () => {
  for (const c of cases) await c.proxy?.close();
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

describe.concurrent("TYPICAL_AWS: keyup killed mid-rotation, then run again, finishes the rotation", () => {
  for (const c of cases) {
    test(c.name, { timeout: 180_000 }, async () => {
      const file = join(c.dir, "credentials");
      const journal = `${file}.keyup-journal.ci`;
      const args = ["--profile", "ci", "--operation", "up", "--auto", "--endpoint-url", c.proxy.url];
      const env = { AWS_SHARED_CREDENTIALS_FILE: file, HOME: c.dir, XDG_STATE_HOME: join(c.dir, "state") };

      const first = spawnKeyup(args, env);
      const disarm = armKill(c, () => first.child.kill("SIGKILL"));
      const killed = await first.done;
      disarm();
      expect(killed.signal, `the first run was killed (stderr: ${killed.stderr.trim()})`).toBe("SIGKILL");
      expect(existsSync(journal), "a killed run leaves its journal").toBe(true);
      expect(await mode(file)).toBe(0o600);
      if (c.lagOutlastsRestart) lagOutlastingRestart(c);

      // At once, as a user would.
      const rerun = await keyup([...args, "--log-level", "debug"], env);

      const log = await readFile(join(c.dir, "state", "keyup", "keyup.log"), "utf8");
      expect({ code: rerun.code, stderr: rerun.stderr }, log).toEqual({ code: 0, stderr: "" });
      if (c.lagOutlastsRestart) {
        // The lag was met: the rerun's first list did not show the key, and keyup listed again.
        expect(log).toMatch(
          c.kill === "verifying" ? /step=resume status=retry the new key \S+ is not listed \(yet\)/ : /step=reconcile status=retry no new key listed yet/,
        );
      }
      const written = await readFile(file, "utf8");
      const fresh = profileKey(written, "ci");
      expect(fresh.accessKeyId).not.toBe(c.old.accessKeyId);
      // Untouched profiles, comments and layout byte for byte; the file 0600; no journal, lock or backup left.
      expect(written).toBe(replaced(c.original, c.old, fresh));
      expect(await mode(file)).toBe(0o600);
      expect(existsSync(journal)).toBe(false);
      expect((await readdir(c.dir)).filter((n) => n !== "state")).toEqual(["credentials"]);
      // The file's key works on STS and IAM; the old key is refused; IAM holds no key the file does not.
      expect(await through(fresh, c.proxy)).toEqual({ sts: "ok", iam: "ok", arn: c.arn });
      expect(await through(c.old, c.proxy)).toEqual({ sts: "InvalidClientTokenId", iam: "InvalidClientTokenId" });
      expect(await keysOf(admin, c.user)).toEqual([{ id: fresh.accessKeyId, status: "Active" }]);
      watchFolder(c.dir);
    });
  }
});

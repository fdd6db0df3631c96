// `pnpm test:aws`: the opt-in check against a real AWS account (never run by CI). It settles what no
// document does (docs/aws-behaviour.md, "Opt-in real-AWS check"): how long a new key takes to be
// accepted by STS and IAM, whether an Inactive key is refused and when, whether GetAccessKeyLastUsed
// follows the credential report's 15-minute rule and with what lag, whether a GetSessionToken session
// survives the deactivation of its parent key, and whether session calls count as the parent's use.
// It creates one throwaway IAM user with the sandbox's administrator profile and deletes it, its keys
// and its policy at the end, also when a step failed.
//
// Refuses to run unless both are given explicitly:
//   KEYUP_AWS_SANDBOX_PROFILE     an administrator profile of a sandbox account (never production)
//   KEYUP_AWS_SANDBOX_ACCOUNT_ID  that account's 12-digit id; the profile must belong to it
// Optional: KEYUP_AWS_REGION (default us-east-1), KEYUP_AWS_LAST_USED_MINUTES (default 20).

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const USAGE = `pnpm test:aws runs against a real AWS account and refuses to start without both:
  KEYUP_AWS_SANDBOX_PROFILE=<administrator profile of a sandbox account>
  KEYUP_AWS_SANDBOX_ACCOUNT_ID=<that account's 12-digit id>
It creates and deletes one IAM user named keyup-test-aws-<random>. See docs/aws-behaviour.md.`;

/** Why the check must not start, or undefined when the environment names a sandbox explicitly. */
function refusal(env: NodeJS.ProcessEnv): string | undefined {
  const profile = env.KEYUP_AWS_SANDBOX_PROFILE?.trim();
  const account = env.KEYUP_AWS_SANDBOX_ACCOUNT_ID?.trim();
  if (!profile) return `KEYUP_AWS_SANDBOX_PROFILE is not set.\n${USAGE}`;
  if (!account) return `KEYUP_AWS_SANDBOX_ACCOUNT_ID is not set.\n${USAGE}`;
  if (!/^\d{12}$/.test(account)) return `KEYUP_AWS_SANDBOX_ACCOUNT_ID must be a 12-digit account id.\n${USAGE}`;
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number | undefined) => (ms === undefined ? "not seen" : (ms / 1000).toFixed(1));

async function main(): Promise<number> {
  const why = refusal(process.env);
  if (why) {
    process.stderr.write(`keyup test:aws: refusing to run. ${why}\n`);
    return 2;
  }
  const cliBin = join(import.meta.dirname, "..", "packages", "cli", "dist", "bin.js");
  if (!existsSync(cliBin)) {
    process.stderr.write("keyup test:aws: run `pnpm build` first (the CLI's dist/ is missing)\n");
    return 2;
  }
  // Imported only now: nothing below runs, and nothing reaches the network, without the sandbox named.
  const iamSdk = await import("@aws-sdk/client-iam");
  const stsSdk = await import("@aws-sdk/client-sts");
  const { fromIni } = await import("@aws-sdk/credential-providers");
  const core = await import("../packages/core/src/index.js");

  const profile = process.env.KEYUP_AWS_SANDBOX_PROFILE as string;
  const account = process.env.KEYUP_AWS_SANDBOX_ACCOUNT_ID as string;
  const region = process.env.KEYUP_AWS_REGION ?? "us-east-1";
  const lastUsedMinutes = Number(process.env.KEYUP_AWS_LAST_USED_MINUTES ?? "20");
  const adminCredentials = fromIni({ profile });
  const adminIam = new iamSdk.IAMClient({ region, credentials: adminCredentials });
  const adminSts = new stsSdk.STSClient({ region, credentials: adminCredentials });

  const me = await adminSts.send(new stsSdk.GetCallerIdentityCommand({}));
  if (me.Account !== account) {
    process.stderr.write(`keyup test:aws: refusing to run: profile ${profile} belongs to account ${me.Account}, not ${account}\n`);
    return 2;
  }

  type Key = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  const userName = `keyup-test-aws-${randomBytes(4).toString("hex")}`;
  const results: [string, string][] = [];
  const iamAs = (k: Key) => new iamSdk.IAMClient({ region, credentials: k, maxAttempts: 1 });
  const stsAs = (k: Key) => new stsSdk.STSClient({ region, credentials: k, maxAttempts: 1 });
  const ok = (p: Promise<unknown>) =>
    p.then(
      () => true,
      () => false,
    );
  const newKey = async (): Promise<Key> => {
    const out = await adminIam.send(new iamSdk.CreateAccessKeyCommand({ UserName: userName }));
    return { accessKeyId: out.AccessKey?.AccessKeyId ?? "", secretAccessKey: out.AccessKey?.SecretAccessKey ?? "" };
  };
  const dir = await mkdtemp(join(tmpdir(), "keyup-test-aws-"));
  process.stdout.write(`keyup test:aws: account ${account}, region ${region}, user ${userName}\n`);
  try {
    await adminIam.send(new iamSdk.CreateUserCommand({ UserName: userName }));
    const policy = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: [
            "iam:CreateAccessKey",
            "iam:DeleteAccessKey",
            "iam:UpdateAccessKey",
            "iam:ListAccessKeys",
            "iam:GetAccessKeyLastUsed",
            "iam:ListUserTags",
            "iam:TagUser",
            "iam:UntagUser",
          ],
          Resource: `${me.Arn?.split(":").slice(0, 5).join(":")}:user/${userName}`,
        },
      ],
    };
    await adminIam.send(new iamSdk.PutUserPolicyCommand({ UserName: userName, PolicyName: "keyup-rotation", PolicyDocument: JSON.stringify(policy) }));

    // 1. Propagation of a new key, per service, and whether an accepted key is refused again.
    const probe = await newKey();
    const created = Date.now();
    let stsAt: number | undefined;
    let iamAt: number | undefined;
    let flapped = false;
    while (Date.now() - created < 60_000 && (stsAt === undefined || iamAt === undefined || Date.now() - created < 20_000)) {
      const s = await ok(stsAs(probe).send(new stsSdk.GetCallerIdentityCommand({})));
      const i = await ok(iamAs(probe).send(new iamSdk.ListAccessKeysCommand({})));
      if (s) stsAt ??= Date.now() - created;
      if (i) iamAt ??= Date.now() - created;
      if ((!s && stsAt !== undefined) || (!i && iamAt !== undefined)) flapped = true;
      await sleep(250);
    }
    results.push(["Seconds until STS accepts a new key", seconds(stsAt)], ["Seconds until IAM accepts a new key", seconds(iamAt)]);
    results.push(["Accepted, then refused again (flapping) seen?", flapped ? "yes" : "no"]);

    // 2. A session opened with the probe key, then the key deactivated: is it refused, and the session?
    const session = await stsAs(probe).send(new stsSdk.GetSessionTokenCommand({ DurationSeconds: 900 }));
    const sessionKey: Key = {
      accessKeyId: session.Credentials?.AccessKeyId ?? "",
      secretAccessKey: session.Credentials?.SecretAccessKey ?? "",
      sessionToken: session.Credentials?.SessionToken ?? "",
    };
    await adminIam.send(new iamSdk.UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: probe.accessKeyId, Status: "Inactive" }));
    const deactivated = Date.now();
    let refusedAt: number | undefined;
    while (refusedAt === undefined && Date.now() - deactivated < 120_000) {
      if (!(await ok(stsAs(probe).send(new stsSdk.GetCallerIdentityCommand({}))))) refusedAt = Date.now() - deactivated;
      else await sleep(500);
    }
    results.push(["Seconds until an Inactive key is refused", seconds(refusedAt)]);
    const sessionLives = await ok(stsAs(sessionKey).send(new stsSdk.GetCallerIdentityCommand({})));
    results.push(["Does a GetSessionToken session survive deactivation of its parent key?", sessionLives ? "yes" : "no"]);
    await adminIam.send(new iamSdk.DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: probe.accessKeyId }));

    // 3. Rotations through the library and through the CLI.
    const first = await newKey();
    const store = core.memoryStore({ initial: first });
    const started = Date.now();
    const library = await core.rotate({ store, region });
    results.push([
      "Library rotate(): outcome, seconds",
      library.isOk() ? `${library.value.outcome}, ${seconds(Date.now() - started)}` : `${library.error.kind}: ${library.error.message}`,
    ]);
    const held = store.current() ?? first;
    const credentials = join(dir, "credentials");
    await writeFile(credentials, `[sandbox]\naws_access_key_id = ${held.accessKeyId}\naws_secret_access_key = ${held.secretAccessKey}\n`, { mode: 0o600 });
    const cliStarted = Date.now();
    const cli = spawnSync(process.execPath, [cliBin, "--profile", "sandbox", "--operation", "up", "--auto", "--force", "--region", region], {
      env: { ...process.env, AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: join(dir, "config"), XDG_STATE_HOME: join(dir, "state") },
      encoding: "utf8",
    });
    results.push(["CLI keyup up --auto --force: exit code, seconds", `${cli.status}, ${seconds(Date.now() - cliStarted)}`]);

    // 4. Last use: one use, then one a minute; and session calls, to see whether they count for the parent.
    const listed = await adminIam.send(new iamSdk.ListAccessKeysCommand({ UserName: userName }));
    const current = listed.AccessKeyMetadata?.[0]?.AccessKeyId ?? "";
    const { readFile } = await import("node:fs/promises");
    const secret = /aws_secret_access_key = (\S+)/.exec(await readFile(credentials, "utf8"))?.[1] ?? "";
    const key: Key = { accessKeyId: current, secretAccessKey: secret };
    const lastUsed = async () => (await adminIam.send(new iamSdk.GetAccessKeyLastUsedCommand({ AccessKeyId: current }))).AccessKeyLastUsed?.LastUsedDate;
    const before = await lastUsed();
    const firstUse = Date.now();
    await stsAs(key).send(new stsSdk.GetCallerIdentityCommand({}));
    let visibleAfter: number | undefined;
    const dates = new Set<number>();
    let lastCall = firstUse;
    while (Date.now() - firstUse < lastUsedMinutes * 60_000) {
      const date = await lastUsed();
      if (date && date.getTime() !== before?.getTime()) {
        visibleAfter ??= Date.now() - firstUse;
        dates.add(date.getTime());
      }
      if (Date.now() - lastCall >= 60_000) {
        await stsAs(key).send(new stsSdk.GetCallerIdentityCommand({}));
        lastCall = Date.now();
      }
      await sleep(10_000);
    }
    const spaced = [...dates].sort().every((d, i, all) => i === 0 || d - (all[i - 1] ?? 0) >= 15 * 60_000 - 60_000);
    results.push(["Lag until a use shows in GetAccessKeyLastUsed", visibleAfter === undefined ? "not seen" : `${seconds(visibleAfter)} s (polled every 10 s)`]);
    results.push([
      "Does GetAccessKeyLastUsed follow the 15-minute rule?",
      `${dates.size} distinct dates for ${lastUsedMinutes} min of use each minute; ${spaced ? "15 minutes apart" : "closer than 15 minutes"}`,
    ]);

    const parentSession = await stsAs(key).send(new stsSdk.GetSessionTokenCommand({ DurationSeconds: 900 }));
    const parentBefore = await lastUsed();
    await sleep(16 * 60_000); // leave the parent's current 15-minute window
    const asSession: Key = {
      accessKeyId: parentSession.Credentials?.AccessKeyId ?? "",
      secretAccessKey: parentSession.Credentials?.SecretAccessKey ?? "",
      sessionToken: parentSession.Credentials?.SessionToken ?? "",
    };
    await stsAs(asSession).send(new stsSdk.GetCallerIdentityCommand({}));
    await sleep(5 * 60_000);
    const parentAfter = await lastUsed();
    results.push(["Do session calls count as the parent key's use?", parentAfter?.getTime() !== parentBefore?.getTime() ? "yes" : "no (not within 5 minutes)"]);
  } finally {
    // Delete everything created, whatever failed above.
    const keys = await adminIam.send(new iamSdk.ListAccessKeysCommand({ UserName: userName })).catch(() => undefined);
    for (const k of keys?.AccessKeyMetadata ?? []) {
      await adminIam.send(new iamSdk.DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: k.AccessKeyId })).catch(() => undefined);
    }
    await adminIam.send(new iamSdk.DeleteUserPolicyCommand({ UserName: userName, PolicyName: "keyup-rotation" })).catch(() => undefined);
    const tags = await adminIam.send(new iamSdk.ListUserTagsCommand({ UserName: userName })).catch(() => undefined);
    if (tags?.Tags?.length) {
      await adminIam.send(new iamSdk.UntagUserCommand({ UserName: userName, TagKeys: tags.Tags.map((t) => t.Key ?? "") })).catch(() => undefined);
    }
    const gone = await adminIam.send(new iamSdk.DeleteUserCommand({ UserName: userName })).then(
      () => true,
      (e: Error) => {
        process.stderr.write(`keyup test:aws: could not delete ${userName} (${e.name}): delete it by hand\n`);
        return false;
      },
    );
    await rm(dir, { recursive: true, force: true });
    process.stdout.write(`\n| Question | Result |\n|---|---|\n${results.map(([q, r]) => `| ${q} | ${r} |`).join("\n")}\n`);
    process.stdout.write(`${gone ? "deleted" : "left behind:"} ${userName}\n`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`keyup test:aws: failed: ${e.name}: ${e.message}\n`);
    process.exit(1);
  },
);

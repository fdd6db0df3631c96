import { readFile, writeFile } from "node:fs/promises";
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, IAMClient, ListAccessKeysCommand, UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { defaultRotationConfig } from "@keyup/core/machine";
import { parse } from "ini";

/**
 * How the hand-written script decides that the new key works before it retires the old one:
 * - `same-as-keyup`: GetCallerIdentity twice with the new key, 250 ms apart, then ListAccessKeys on
 *   IAM signed by it (keyup's calls and pacing when the key works at once: its last confirmation is an
 *   IAM call), so the comparison measures keyup's machinery and nothing else;
 * - `fixed-sleep`: sleep 10 s, then one GetCallerIdentity (what the Python keyup and many scripts do);
 * - `poll-2s`: GetCallerIdentity every 2 s until it succeeds once (aws-vault's approach).
 */
export type VerifyStrategy = "same-as-keyup" | "fixed-sleep" | "poll-2s";

/** Where the script finds the key and the AWS endpoint. */
export interface HandWrittenOptions {
  readonly path: string;
  readonly profile: string;
  readonly endpoint: string;
  readonly verify: VerifyStrategy;
  /** Give up polling after this long (ms). */
  readonly pollTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The baseline keyup is measured against: a minimal rotation written directly against the AWS SDK, the
 * way a careful engineer writes it in an afternoon. It makes the same AWS calls as `rotate()` and the
 * same two-value edit of the credentials file, but has no lock, no journal, no backup, no rollback and
 * no atomic write: the gap to keyup is the price of those.
 *
 * @example
 * ```ts
 * await rotateByHand({ path: "credentials", profile: "ci", endpoint: "http://127.0.0.1:5000", verify: "poll-2s" });
 * ```
 */
export async function rotateByHand(options: HandWrittenOptions): Promise<{ oldAccessKeyId: string; newAccessKeyId: string }> {
  const text = await readFile(options.path, "utf8");
  const section = parse(text)[options.profile] as { aws_access_key_id: string; aws_secret_access_key: string };
  const old = { accessKeyId: section.aws_access_key_id, secretAccessKey: section.aws_secret_access_key };
  const client = { region: "us-east-1", endpoint: options.endpoint };

  const me = await new STSClient({ ...client, credentials: old }).send(new GetCallerIdentityCommand({}));
  const userName = me.Arn?.split("/").pop() ?? "";
  const iam = new IAMClient({ ...client, credentials: old });
  const listed = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  if ((listed.AccessKeyMetadata?.length ?? 0) >= 2) throw new Error(`${userName} already has two keys`);
  const created = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  const fresh = { accessKeyId: created.AccessKey?.AccessKeyId ?? "", secretAccessKey: created.AccessKey?.SecretAccessKey ?? "" };

  // The same edit keyup makes: the two values, nothing else (ini.stringify would drop comments).
  await writeFile(options.path, text.replace(old.accessKeyId, fresh.accessKeyId).replace(old.secretAccessKey, fresh.secretAccessKey), { mode: 0o600 });

  const sts = new STSClient({ ...client, credentials: fresh, maxAttempts: 1 });
  const iamNew = new IAMClient({ ...client, credentials: fresh });
  const check = () => sts.send(new GetCallerIdentityCommand({}));
  if (options.verify === "same-as-keyup") {
    await check();
    await sleep(defaultRotationConfig.confirmIntervalMs);
    await check();
    await iamNew.send(new ListAccessKeysCommand({ UserName: userName }));
  } else if (options.verify === "fixed-sleep") {
    await sleep(10_000);
    await check();
  } else {
    const deadline = Date.now() + (options.pollTimeoutMs ?? 60_000);
    for (;;) {
      try {
        await check();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(2_000);
      }
    }
  }

  await iamNew.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: old.accessKeyId, Status: "Inactive" }));
  await iamNew.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: old.accessKeyId }));
  return { oldAccessKeyId: old.accessKeyId, newAccessKeyId: fresh.accessKeyId };
}

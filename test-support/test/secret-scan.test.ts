import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateAccessKeyCommand, IAMClient } from "@aws-sdk/client-iam";
import { createAwsPort, memoryStore, rotate } from "@keyup/core";
import { createRotationHandler } from "@keyup/store-secretsmanager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, test } from "vitest";
import { startAwsProxy } from "../aws-proxy.js";
import { captureOutput, holdsSecret, type Leak, rememberSecret, SECRET_WINDOW, scanForLeaks, watchFolder } from "../secrets.js";

/**
 * The suite-wide secret scan, tested by planting a leak in each channel it must see and asserting the
 * scan reports it there. Each test drains the scan itself (`planted: true`, so the hits are counted
 * apart from the suite's real hits), which leaves nothing for the harness's own check after it.
 */

/** A fresh secret of the AWS shape (40 base64 characters) that nothing else in the run holds. */
function plantedSecret(): string {
  return randomBytes(30).toString("base64");
}

async function planted(): Promise<Leak[]> {
  return (await scanForLeaks({ planted: true })).leaks;
}

const unreachable = "http://127.0.0.1:9";
const iamMock = mockClient(IAMClient);
afterEach(() => {
  iamMock.reset();
});

describe("the secret scan catches a planted leak in every channel", () => {
  test("a rotated log file (any name) in a test's folder", async () => {
    const secret = plantedSecret();
    rememberSecret(secret);
    const dir = await mkdtemp(join(tmpdir(), "keyup-scan-"));
    watchFolder(dir);
    await writeFile(join(dir, "keyup.log.1"), `rotated line: ${secret}\n`);
    const leaks = await planted();
    expect(leaks.map((l) => [l.channel, l.label])).toEqual([["file", "file keyup.log.1"]]);
  });

  test("journals and backups are exempt by content but must be 0600", async () => {
    const secret = plantedSecret();
    rememberSecret(secret);
    const dir = await mkdtemp(join(tmpdir(), "keyup-scan-"));
    watchFolder(dir);
    await writeFile(join(dir, "credentials.keyup-journal.ci"), JSON.stringify({ secrets: { new: { secretAccessKey: secret } } }), { mode: 0o600 });
    await writeFile(join(dir, "credentials.keyup-backup.ci"), `aws_secret_access_key = ${secret}\n`, { mode: 0o600 });
    await writeFile(join(dir, "held-by-the-test"), `aws_secret_access_key = ${secret}\n`, { mode: 0o600 });
    holdsSecret(join(dir, "held-by-the-test"), "journal");
    expect(await planted(), "0600 holders are not leaks").toEqual([]);

    const again = await mkdtemp(join(tmpdir(), "keyup-scan-"));
    watchFolder(again);
    await writeFile(join(again, "credentials.keyup-journal.ci"), "{}");
    await chmod(join(again, "credentials.keyup-journal.ci"), 0o644);
    await writeFile(join(again, "credentials.keyup-backup.ci"), "", { mode: 0o640 });
    const leaks = await planted();
    expect(leaks.map((l) => l.label).sort()).toEqual(["backup credentials.keyup-backup.ci has mode 640", "journal credentials.keyup-journal.ci has mode 644"]);
  });

  test("a 16-character piece of a secret is a leak; 15 characters are not", async () => {
    const secret = plantedSecret();
    rememberSecret(secret);
    captureOutput("middle piece", `…${secret.slice(10, 10 + SECRET_WINDOW)}…`);
    expect((await planted()).map((l) => l.label)).toEqual(["middle piece"]);
    captureOutput("too short to be a leak", secret.slice(10, 10 + SECRET_WINDOW - 1));
    captureOutput("a 32-character prefix", secret.slice(0, 32));
    expect((await planted()).map((l) => l.label)).toEqual(["a 32-character prefix"]);
  });

  test("a console line (a Lambda's log, a script's stdout)", async () => {
    const secret = plantedSecret();
    rememberSecret(secret);
    console.info("debugging:", secret.slice(4, 30));
    expect((await planted()).map((l) => l.channel)).toContain("console");
  });

  test("a logger callback line, from a library call the test imports straight from @keyup/core", async () => {
    const secret = plantedSecret();
    // The store's name is printed in every logger line; a secret in it must be caught there. The
    // secret is learnt from the memory store's initial key, not told to the scan.
    const store = memoryStore({ name: `memory:${secret}`, initial: { accessKeyId: "AKIAPLANTEDLOGGER001", secretAccessKey: secret } });
    const lines: string[] = [];
    const logger = {
      debug: (m: string) => lines.push(m),
      info: (m: string) => lines.push(m),
      warn: (m: string) => lines.push(m),
      error: (m: string) => lines.push(m),
    };
    const result = await rotate({ store, logger, endpoint: unreachable, region: "us-east-1", maxAttempts: 1 });
    expect(result.isErr()).toBe(true);
    expect(lines.length, "the test's own logger still gets the lines").toBeGreaterThan(0);
    const channels = new Set((await planted()).map((l) => l.channel));
    expect([...channels].sort()).toEqual(expect.arrayContaining(["logger", "result"]));
  });

  test("a rotation handler log line", async () => {
    const secret = plantedSecret();
    rememberSecret(secret);
    const entries: unknown[] = [];
    const handler = createRotationHandler({
      endpoint: unreachable,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIAPLANTEDHANDLER01", secretAccessKey: "not-the-planted-secret-at-all-0000" },
      log: (entry) => entries.push(entry),
    });
    const event = { SecretId: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secret}`, ClientRequestToken: "0".repeat(32), Step: "createSecret" };
    await expect(handler(event as never)).rejects.toBeDefined();
    expect(entries.length, "the handler logged its failure").toBeGreaterThan(0);
    expect((await planted()).map((l) => l.channel)).toContain("handler-log");
  });

  test("a secret from a mocked AWS answer (aws-sdk-client-mock) is learnt without the test telling", async () => {
    const secret = plantedSecret();
    iamMock
      .on(CreateAccessKeyCommand)
      .resolves({ AccessKey: { AccessKeyId: "AKIAPLANTEDMOCKED001", SecretAccessKey: secret, Status: "Active", UserName: "u" } });
    const port = createAwsPort({
      region: "us-east-1",
      credentials: { accessKeyId: "AKIAPLANTEDSIGNER001", secretAccessKey: "signer-secret-not-planted-000000000" },
    });
    const pair = await port.createAccessKey("u", { accessKeyId: "AKIAPLANTEDSIGNER001", secretAccessKey: "signer-secret-not-planted-000000000" });
    captureOutput("a result table", `new key ${pair.accessKeyId} ${pair.secretAccessKey.slice(0, 20)}`);
    expect((await planted()).map((l) => l.label)).toEqual(["a result table"]);
  });

  test("a secret the proxy sees in any answer, GetSessionToken's session credentials included", async () => {
    const session = plantedSecret();
    const upstream = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        `<GetSessionTokenResponse><GetSessionTokenResult><Credentials><AccessKeyId>ASIAPLANTEDSESSION01</AccessKeyId><SecretAccessKey>${session}</SecretAccessKey><SessionToken>tok</SessionToken></Credentials></GetSessionTokenResult></GetSessionTokenResponse>`,
      );
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const proxy = await startAwsProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    try {
      const answer = await fetch(proxy.url, { method: "POST", body: "Action=GetSessionToken&Version=2011-06-15" });
      expect(answer.status).toBe(200);
      await answer.text();
    } finally {
      await proxy.close();
      upstream.close();
    }
    captureOutput("an MFA prompt's output", `session ${session.slice(8, 30)}`);
    expect((await planted()).map((l) => l.label)).toEqual(["an MFA prompt's output"]);
  });

  test("a clean run yields no hits", async () => {
    const secret = plantedSecret();
    rememberSecret(secret);
    const dir = await mkdtemp(join(tmpdir(), "keyup-scan-"));
    watchFolder(dir);
    await writeFile(join(dir, "keyup.log"), "rotated AKIAPLANTEDCLEAN0001 -> AKIAPLANTEDCLEAN0002\n");
    await writeFile(join(dir, "credentials.keyup-journal.ci"), secret, { mode: 0o600 });
    captureOutput("stdout", "rotated AKIAPLANTEDCLEAN0001");
    console.info("nothing secret here");
    expect(await planted()).toEqual([]);
  });
});

import { memoryStore } from "@keyup/core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createAdmin, createUser, enforceAuth, keysOf, motoUrl, resetEmulator, type TestKey, workingKey } from "../../../test-support/moto.js";
import { rotate } from "../../../test-support/observed.js";
import { type Answer, type RealismProxy, startRealismProxy } from "../../../test-support/realism/realism-proxy.js";

// Issue 15's hardening classes that the library alone shows (the CLI's are in packages/cli/test).

let admin: TestKey;
let proxy: RealismProxy | undefined;

beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

/** Answers that do not prove that nothing was created, each sent after IAM created the key. */
const GARBLED: Record<string, Answer> = {
  "truncated XML": {
    status: 200,
    headers: { "content-type": "text/xml" },
    body: "<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>garble</UserName><AccessKeyId>AKIA",
  },
  "HTML error page from a proxy (502)": {
    status: 502,
    headers: { "content-type": "text/html" },
    body: "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>",
  },
  "HTML page with 200": { status: 200, headers: { "content-type": "text/html" }, body: "<html><body>Please sign in to the network</body></html>" },
  "500 with an empty body": { status: 500, headers: { "content-type": "text/xml" }, body: "" },
  "504 gateway timeout (plain text)": { status: 504, headers: { "content-type": "text/plain" }, body: "Gateway Timeout" },
  "JSON body": { status: 200, headers: { "content-type": "application/json" }, body: '{"message":"ok","AccessKey":null}' },
  "unknown error name": {
    status: 400,
    headers: { "content-type": "text/xml" },
    body: "<ErrorResponse><Error><Type>Sender</Type><Code>SomethingNobodyKnows</Code><Message>odd</Message></Error><RequestId>0</RequestId></ErrorResponse>",
  },
};

describe("orphans from garbled CreateAccessKey answers", () => {
  for (const [name, answer] of Object.entries(GARBLED)) {
    test(`${name}: the key IAM created is found (ListAccessKeys lags) and deleted, the rotation completes, no orphan`, async () => {
      const user = await createUser("garble");
      const old = user.keys[0] as TestKey;
      const store = memoryStore({ initial: old });
      await enforceAuth();
      // ListAccessKeys does not show a new key for 1.5 s: reconcile must look again, not conclude at once.
      proxy = await startRealismProxy(motoUrl(), { listLagMs: 1_500 });
      let garbled = 0;
      proxy.rewriteAnswers((action) => (action === "CreateAccessKey" && garbled++ === 0 ? answer : undefined));

      const result = await rotate({ store, endpoint: proxy.url, region: "us-east-1" });

      expect(garbled, "the garbled answer was sent").toBeGreaterThan(0);
      const report = result._unsafeUnwrap();
      expect(report.outcome, JSON.stringify(report.steps)).toBe("rotated");
      const held = store.current() as TestKey;
      expect(await keysOf(admin, "garble"), "only the store's key exists in IAM").toEqual([{ id: held.accessKeyId, status: "Active" }]);
      expect(await workingKey(held)).toBe(user.arn);
      expect(proxy.requests.filter((r) => r.action === "CreateAccessKey")).toHaveLength(2);
    }, 60_000);
  }

  test("a definite refusal (LimitExceeded) still fails at once, without listing keys", async () => {
    const user = await createUser("garble");
    const store = memoryStore({ initial: user.keys[0] as TestKey });
    await enforceAuth();
    proxy = await startRealismProxy(motoUrl());
    proxy.rewriteAnswers((action) =>
      action === "CreateAccessKey"
        ? {
            status: 409,
            headers: { "content-type": "text/xml" },
            body: "<ErrorResponse><Error><Type>Sender</Type><Code>LimitExceeded</Code><Message>two keys</Message></Error><RequestId>0</RequestId></ErrorResponse>",
          }
        : undefined,
    );
    const result = await rotate({ store, endpoint: proxy.url, region: "us-east-1" });
    expect(result.isErr() ? result.error.kind : result._unsafeUnwrap().outcome).not.toBe("rotated");
    expect(proxy.requests.filter((r) => r.action === "ListAccessKeys")).toHaveLength(1);
  });
});

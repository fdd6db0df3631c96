import { DeleteAccessKeyCommand } from "@aws-sdk/client-iam";
import { type AccessKeyPair, memoryStore, type ProgressEvent } from "@keyup/core";
import { beforeEach, describe, expect, test } from "vitest";
import { createAdmin, createUser, enforceAuth, iamClient, keysOf, motoUrl, resetEmulator, type TestKey } from "../../../test-support/moto.js";
import { rotate } from "../../../test-support/observed.js";

// Issue 15, "messages that mislead": someone else deletes the old key while keyup verifies the new
// one. Retiring it then meets NoSuchEntity, which means done: no "still Active" warning, no manual
// step for a key that no longer exists.

let admin: TestKey;

beforeEach(async () => {
  await resetEmulator();
  admin = await createAdmin();
});

describe("NoSuchEntity on retire means done", () => {
  test("the old key deleted by someone else mid-rotation: rotated, the step says it was already gone", async () => {
    const user = await createUser("alice");
    const old = user.keys[0] as TestKey;
    const inner = memoryStore({ initial: old });
    // Once the new key is installed (before verify and retire), another admin deletes the old key.
    const store = {
      ...inner,
      write: async (key: AccessKeyPair) => {
        await inner.write(key);
        await iamClient(admin).send(new DeleteAccessKeyCommand({ UserName: "alice", AccessKeyId: old.accessKeyId }));
      },
    };
    await enforceAuth();
    const events: ProgressEvent[] = [];

    const result = await rotate({ store, endpoint: motoUrl(), region: "us-east-1", onEvent: (e) => events.push(e) });

    expect(result.isOk(), result.isErr() ? result.error.message : "").toBe(true);
    const report = result._unsafeUnwrap();
    expect(report.outcome).toBe("rotated");
    expect(report.warnings).toEqual([]);
    expect(report.nextSteps).toEqual([]);
    expect(report.oldKey).toBe("deleted");
    expect(report.steps.find((s) => s.step === "deactivate-old-key")).toMatchObject({
      status: "ok",
      detail: `${old.accessKeyId} was already gone (NoSuchEntity)`,
    });
    expect(await keysOf(admin, "alice")).toEqual([{ id: report.newAccessKeyId, status: "Active" }]);
    expect(events.some((e) => e.type === "step" && e.step.step === "deactivate-old-key")).toBe(true);
  });
});

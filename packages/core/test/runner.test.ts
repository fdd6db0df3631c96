import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  TagUserCommand,
  UntagUserCommand,
  UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { type AccessKeyPair, type CredentialStore, createAwsPort, createStoreError, memoryStore, type ProgressEvent, type RotationConfig } from "@keyup/core";
import { defaultRotationConfig, errorOf, initialRotationState, reportOf, runRotation } from "@keyup/core/machine";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";

/**
 * The runner against the real SDK clients with aws-sdk-client-mock standing in for IAM and STS: a tiny
 * simulated IAM (keys with secrets and status) so that "does the store hold a working key" has a real
 * answer, and a fault injected at every effect.
 */
const iamMock = mockClient(IAMClient);
const stsMock = mockClient(STSClient);
const USER_ARN = "arn:aws:iam::123456789012:user/alice";

interface SimKey {
  secret: string;
  status: "Active" | "Inactive";
}
let iam: Map<string, SimKey>;
let tags: Record<string, string>;
let calls: { action: string; signer: string; target?: string }[];
let counter = 0;

function newPair(): AccessKeyPair {
  counter += 1;
  const n = String(counter).padStart(4, "0");
  return { accessKeyId: `AKIASIM${n}XXXXXXXXX`.slice(0, 20), secretAccessKey: `sim/secret+${n}${"s".repeat(29)}` };
}

async function signerOf(getClient: () => { config: { credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string }> } }) {
  const creds = await getClient().config.credentials();
  const key = iam.get(creds.accessKeyId);
  if (!key || key.secret !== creds.secretAccessKey || key.status !== "Active") {
    throw Object.assign(new Error("The security token included in the request is invalid."), { name: "InvalidClientTokenId" });
  }
  return creds.accessKeyId;
}

type Fault = Partial<Record<string, (signer: string, target?: string) => Error | "create-then-lose" | undefined>>;
let faults: Fault;
const boom = (name: string) => Object.assign(new Error(`${name} injected`), { name });

function install(): void {
  const guard = async (action: string, getClient: unknown, target?: string) => {
    const signer = await signerOf(getClient as Parameters<typeof signerOf>[0]);
    calls.push({ action, signer, ...(target ? { target } : {}) });
    const fault = faults[action]?.(signer, target);
    if (fault instanceof Error) throw fault;
    return { signer, fault };
  };
  iamMock.on(ListAccessKeysCommand).callsFake(async (_input, getClient) => {
    await guard("ListAccessKeys", getClient);
    return { AccessKeyMetadata: [...iam].map(([id, k]) => ({ AccessKeyId: id, Status: k.status, UserName: "alice" })) };
  });
  iamMock.on(CreateAccessKeyCommand).callsFake(async (_input, getClient) => {
    const { fault } = await guard("CreateAccessKey", getClient);
    if (iam.size >= 2) throw boom("LimitExceeded");
    const key = newPair();
    iam.set(key.accessKeyId, { secret: key.secretAccessKey, status: "Active" });
    if (fault === "create-then-lose") throw Object.assign(new Error("socket hang up"), { name: "Error", code: "ECONNRESET" });
    return { AccessKey: { AccessKeyId: key.accessKeyId, SecretAccessKey: key.secretAccessKey, Status: "Active", UserName: "alice" } };
  });
  iamMock.on(UpdateAccessKeyCommand).callsFake(async (input, getClient) => {
    await guard("UpdateAccessKey", getClient, input.AccessKeyId);
    const key = iam.get(input.AccessKeyId ?? "");
    if (!key) throw boom("NoSuchEntity");
    key.status = input.Status as SimKey["status"];
    return {};
  });
  iamMock.on(DeleteAccessKeyCommand).callsFake(async (input, getClient) => {
    await guard("DeleteAccessKey", getClient, input.AccessKeyId);
    if (!iam.delete(input.AccessKeyId ?? "")) throw boom("NoSuchEntity");
    return {};
  });
  iamMock.on(ListUserTagsCommand).callsFake(async (_input, getClient) => {
    await guard("ListUserTags", getClient);
    return { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
  });
  iamMock.on(TagUserCommand).callsFake(async (input, getClient) => {
    await guard("TagUser", getClient);
    for (const t of input.Tags ?? []) tags[t.Key ?? ""] = t.Value ?? "";
    return {};
  });
  iamMock.on(UntagUserCommand).callsFake(async (input, getClient) => {
    await guard("UntagUser", getClient);
    for (const k of input.TagKeys ?? []) delete tags[k];
    return {};
  });
  iamMock.on(GetAccessKeyLastUsedCommand).callsFake(async (_input, getClient) => {
    await guard("GetAccessKeyLastUsed", getClient);
    return { AccessKeyLastUsed: { ServiceName: "N/A", Region: "N/A" } };
  });
  stsMock.on(GetCallerIdentityCommand).callsFake(async (_input, getClient) => {
    await guard("GetCallerIdentity", getClient);
    return { Arn: USER_ARN, Account: "123456789012", UserId: "AIDA" };
  });
}

beforeEach(() => {
  iamMock.reset();
  stsMock.reset();
  iam = new Map();
  tags = {};
  calls = [];
  faults = {};
  install();
});
afterEach(() => {
  iamMock.reset();
  stsMock.reset();
});

/** A memory store whose methods can be made to fail. */
function faultyStore(initial: AccessKeyPair, fail: Partial<Record<"read" | "backup" | "write" | "restore", boolean>>) {
  const inner = memoryStore({ initial });
  const wrap =
    <A extends unknown[], R>(name: keyof typeof fail, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      if (fail[name]) throw createStoreError("EIO", `${name} injected`);
      return fn(...a);
    };
  const store: CredentialStore = {
    ...inner,
    read: wrap("read", inner.read),
    backup: wrap("backup", inner.backup),
    write: wrap("write", inner.write),
    restore: wrap("restore", inner.restore),
  };
  return { store, current: inner.current };
}

async function run(store: CredentialStore, options: { userName?: string; config?: Partial<RotationConfig> } = {}) {
  let clock = 1_000_000;
  const events: ProgressEvent[] = [];
  const config = { ...defaultRotationConfig, verifyTimeoutMs: 5_000, ...(options.userName ? { userName: options.userName } : {}), ...options.config };
  const state = await runRotation(initialRotationState(store.name, config), {
    store,
    aws: createAwsPort({ region: "us-east-1", maxAttempts: 1 }),
    onEvent: (e) => events.push(e),
    now: () => clock,
    random: () => 0.5,
    sleep: async (ms) => {
      clock += ms;
    },
  });
  return { state, events, report: reportOf(state), error: errorOf(state) };
}

/** Each `step-started` name paired with the name of the first finished step after it. */
function startedThenFinished(events: readonly ProgressEvent[]): [string, string | undefined][] {
  return events.flatMap((e, i) => {
    if (e.type !== "step-started") return [];
    const finished = events.slice(i + 1).find((f) => f.type === "step");
    return [[e.step, finished?.type === "step" ? finished.step.step : undefined] as [string, string | undefined]];
  });
}

const cases: {
  name: string;
  fault: Fault;
  store?: Partial<Record<"read" | "backup" | "write" | "restore", boolean>>;
  config?: Partial<RotationConfig>;
  otherInactive?: boolean;
  outcome: string;
  kind?: string;
}[] = [
  // The effects of the operations features: every one of them faulted too.
  { name: "listUserTags (at the limit)", fault: { ListUserTags: () => boom("AccessDenied") }, otherInactive: true, outcome: "failed", kind: "limit" },
  {
    name: "untagUser (tags of a deleted Inactive key)",
    fault: { UntagUser: () => boom("AccessDenied") },
    otherInactive: true,
    config: { onLimit: "delete-inactive" },
    outcome: "completed-with-warnings",
  },
  { name: "tagUser (description)", fault: { TagUser: () => boom("AccessDenied") }, config: { description: "ci" }, outcome: "completed-with-warnings" },
  {
    name: "getAccessKeyLastUsed (in-use guard, read before anything is created)",
    fault: { GetAccessKeyLastUsed: () => boom("AccessDenied") },
    config: { inUseGuard: true },
    outcome: "failed",
    kind: "aws",
  },
  {
    name: "tagUser (grace period)",
    fault: { TagUser: () => boom("AccessDenied") },
    config: { oldKey: "deactivate", keepOldForMs: 86_400_000 },
    outcome: "completed-with-warnings",
  },
  { name: "readStore", fault: {}, store: { read: true }, outcome: "failed", kind: "store" },
  { name: "getCallerIdentity (identity)", fault: { GetCallerIdentity: () => boom("AccessDenied") }, outcome: "failed", kind: "aws" },
  { name: "listAccessKeys", fault: { ListAccessKeys: () => boom("AccessDenied") }, outcome: "failed", kind: "aws" },
  { name: "backupStore", fault: {}, store: { backup: true }, outcome: "failed", kind: "store" },
  { name: "createAccessKey (refused)", fault: { CreateAccessKey: () => boom("AccessDenied") }, outcome: "failed", kind: "aws" },
  {
    name: "createAccessKey (answer lost, then refused)",
    fault: { CreateAccessKey: (_s) => (calls.filter((c) => c.action === "CreateAccessKey").length === 1 ? "create-then-lose" : boom("AccessDenied")) },
    outcome: "failed",
    kind: "aws",
  },
  {
    name: "createAccessKey (answer lost once)",
    fault: { CreateAccessKey: () => (calls.filter((c) => c.action === "CreateAccessKey").length === 1 ? "create-then-lose" : undefined) },
    outcome: "rotated",
  },
  { name: "install", fault: {}, store: { write: true }, outcome: "rolled-back", kind: "store" },
  { name: "install + restore", fault: {}, store: { write: true, restore: true }, outcome: "rollback-failed", kind: "rollback-failed" },
  {
    name: "verify (never valid)",
    fault: {
      GetCallerIdentity: (signer) =>
        calls.filter((c) => c.action === "CreateAccessKey").length > 0 && signer !== firstKey ? boom("InvalidClientTokenId") : undefined,
    },
    outcome: "rolled-back",
    kind: "verify",
  },
  {
    name: "verify + restore",
    fault: { GetCallerIdentity: (signer) => (signer !== firstKey ? boom("InvalidClientTokenId") : undefined) },
    store: { restore: true },
    outcome: "rollback-failed",
    kind: "rollback-failed",
  },
  {
    name: "verify + delete new key",
    fault: {
      GetCallerIdentity: (signer) => (signer !== firstKey ? boom("InvalidClientTokenId") : undefined),
      DeleteAccessKey: () => boom("AccessDenied"),
    },
    outcome: "rollback-failed",
    kind: "rollback-failed",
  },
  { name: "updateAccessKey (deactivate old)", fault: { UpdateAccessKey: () => boom("AccessDenied") }, outcome: "completed-with-warnings" },
  { name: "deleteAccessKey (delete old)", fault: { DeleteAccessKey: () => boom("AccessDenied") }, outcome: "completed-with-warnings" },
  { name: "no fault", fault: {}, outcome: "rotated" },
];
let firstKey = "";

describe("runner: a fault at every effect keeps the invariants", () => {
  for (const c of cases) {
    test(`${c.name} -> ${c.outcome}`, async () => {
      const old = newPair();
      firstKey = old.accessKeyId;
      iam.set(old.accessKeyId, { secret: old.secretAccessKey, status: "Active" });
      const inactive = c.otherInactive ? newPair() : undefined;
      if (inactive) {
        iam.set(inactive.accessKeyId, { secret: inactive.secretAccessKey, status: "Inactive" });
        tags[inactive.accessKeyId] = "old laptop";
      }
      faults = c.fault;
      const { store, current } = faultyStore(old, c.store ?? {});

      const { state, events, report, error } = await run(store, c.config ? { config: c.config } : {});

      expect(state.outcome).toBe(c.outcome);
      if (c.kind) expect(error?.kind).toBe(c.kind);
      else expect(error).toBeUndefined();

      // 1. The store holds a key that works.
      const held = current();
      const heldKey = held ? iam.get(held.accessKeyId) : undefined;
      expect(heldKey?.secret).toBe(held?.secretAccessKey);
      expect(heldKey?.status).toBe("Active");
      // 2. Every key in IAM is the store's key, a reported leftover, or the old key named by a report that
      //    ended with warnings or a failed rollback (its manual steps say what to do with it).
      for (const id of iam.keys()) {
        const known =
          (id === inactive?.accessKeyId && state.outcome === "failed") ||
          id === held?.accessKeyId ||
          report.leftovers.accessKeyIds.includes(id) ||
          ((state.outcome === "completed-with-warnings" || state.outcome === "rollback-failed") && id === report.oldAccessKeyId);
        expect(known, `orphan key ${id}`).toBe(true);
      }
      // 5. The old key is never deactivated or deleted before a new key was verified twice.
      const firstRetire = calls.findIndex((x) => (x.action === "UpdateAccessKey" || x.action === "DeleteAccessKey") && x.target === old.accessKeyId);
      if (firstRetire >= 0) {
        const newSigned = calls.slice(0, firstRetire).filter((x) => x.action === "GetCallerIdentity" && x.signer !== old.accessKeyId);
        expect(newSigned.length).toBeGreaterThanOrEqual(2);
      }
      // 4. No secret anywhere in what a caller sees.
      const seen = JSON.stringify({ events, report, error: error ? { ...error, cause: String(error.cause) } : null, message: error?.message });
      const secrets = [old.secretAccessKey, ...[...iam.values()].map((k) => k.secret), held?.secretAccessKey ?? "old"];
      for (const secret of secrets) expect(seen).not.toContain(secret);
      if (state.outcome === "rollback-failed") expect(report.manualSteps.length).toBeGreaterThan(0);
      if (state.outcome === "completed-with-warnings") expect(report.warnings.length).toBeGreaterThan(0);
      // One name per step: what a spinner shows while a step runs is what the finished line says.
      expect(startedThenFinished(events).filter(([started, finished]) => started !== finished)).toEqual([]);
    });
  }
});

describe("runner: retries", () => {
  test("transient auth errors on verify are retried with backoff until the key works", async () => {
    const old = newPair();
    firstKey = old.accessKeyId;
    iam.set(old.accessKeyId, { secret: old.secretAccessKey, status: "Active" });
    let rejections = 3;
    faults = { GetCallerIdentity: (signer) => (signer !== firstKey && rejections-- > 0 ? boom("InvalidClientTokenId") : undefined) };
    const { store } = faultyStore(old, {});
    const { state, report } = await run(store, { userName: "alice" });
    expect(state.outcome).toBe("rotated");
    expect(report.verifyAttempts).toBe(5);
    expect(report.steps.filter((s) => s.step === "verify" && s.status === "retry").length).toBe(4);
  });

  test("throttling on deactivate is retried, not reported", async () => {
    const old = newPair();
    iam.set(old.accessKeyId, { secret: old.secretAccessKey, status: "Active" });
    let throttles = 2;
    faults = { UpdateAccessKey: () => (throttles-- > 0 ? boom("Throttling") : undefined) };
    const { store } = faultyStore(old, {});
    const { state } = await run(store, { userName: "alice" });
    expect(state.outcome).toBe("rotated");
    expect(calls.filter((c) => c.action === "UpdateAccessKey").length).toBe(3);
  });
});

describe("runner: a store that says it wrote but did not", () => {
  test("is caught by reading back after install, and the rotation rolls back", async () => {
    const old = newPair();
    iam.set(old.accessKeyId, { secret: old.secretAccessKey, status: "Active" });
    const inner = memoryStore({ initial: old });
    const liar: CredentialStore = { ...inner, write: async () => undefined };
    const { state, error } = await run(liar, { userName: "alice" });
    expect(state.outcome).toBe("rolled-back");
    expect(error?.kind).toBe("store");
    expect(error?.message).toContain(`does not hold`);
    expect([...iam.keys()]).toEqual([old.accessKeyId]);
  });
});

describe("runner: until", () => {
  test("stops before the effect of the first state it accepts, and a later run goes on from there", async () => {
    const old = newPair();
    iam.set(old.accessKeyId, { secret: old.secretAccessKey, status: "Active" });
    faults = {};
    const { store, current } = faultyStore(old, {});
    const config = { ...defaultRotationConfig, verifyTimeoutMs: 5_000, userName: "alice" };
    const ctx = { store, aws: createAwsPort({ region: "us-east-1", maxAttempts: 1 }), random: () => 0.5, sleep: async () => undefined };
    const secrets = { old };
    const installed = await runRotation(initialRotationState(store.name, config), { ...ctx, secrets, until: (s) => s.phase === "verifying" });
    expect(installed.phase).toBe("verifying");
    expect(current()?.accessKeyId).toBe(installed.newAccessKeyId);
    expect(calls.filter((c) => c.action === "GetCallerIdentity")).toEqual([]);
    expect(iam.get(old.accessKeyId)?.status).toBe("Active");

    const finished = await runRotation(installed, { ...ctx, secrets: { old, new: current() } });
    expect(finished.outcome).toBe("rotated");
    expect(iam.has(old.accessKeyId)).toBe(false);
  });
});

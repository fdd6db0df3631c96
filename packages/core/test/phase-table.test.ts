import type { Phase, PhaseSpec, PhaseTable, RotationState, StateIn } from "@keyup/core/machine";
import { defaultRotationConfig, groupOf, initialRotationState, inPhase, phaseTable, transition } from "@keyup/core/machine";
import { describe, expect, expectTypeOf, test } from "vitest";

describe("phase table", () => {
  test("a phase spec must say what a failure and an abort do (compile-time)", () => {
    // Everything but onFailure and onAbort, correctly typed: the errors below are about those two only.
    const base: Omit<PhaseSpec, "onFailure" | "onAbort"> = { step: "install", group: "forward", effect: () => ({ type: "readStore" }), on: {} };
    // @ts-expect-error: a phase without onFailure and onAbort does not compile.
    const missingBoth: PhaseSpec = base;
    // @ts-expect-error: a phase without onAbort does not compile.
    const missingAbort: PhaseSpec = { ...base, onFailure: (s) => ({ state: s }) };
    // @ts-expect-error: a phase without onFailure does not compile.
    const missingFailure: PhaseSpec = { ...base, onAbort: (s) => ({ state: s }) };
    const complete: PhaseSpec = { ...base, onFailure: (s) => ({ state: s }), onAbort: (s) => ({ state: s }) };
    expect([missingBoth, missingAbort, missingFailure, complete]).toHaveLength(4);

    expectTypeOf<PhaseSpec["onFailure"]>().not.toEqualTypeOf<PhaseSpec["onFailure"] | undefined>();
    expectTypeOf<PhaseSpec["onAbort"]>().not.toEqualTypeOf<PhaseSpec["onAbort"] | undefined>();
  });

  test("the table has exactly one spec per phase (compile-time)", () => {
    expectTypeOf<keyof PhaseTable>().toEqualTypeOf<Phase>();
    const { done: _done, ...withoutDone } = phaseTable;
    // @ts-expect-error: a table missing a phase does not compile.
    const incomplete: PhaseTable = withoutDone;
    expect(Object.keys(incomplete)).not.toContain("done");
  });

  test("an event a phase does not list is unexpected there and ends the rotation safely", () => {
    for (const phase of Object.keys(phaseTable) as Phase[]) {
      if (phase === "done") continue;
      expect(phaseTable[phase].on.start === undefined).toBe(phase !== "idle");
    }
    expect(groupOf("restoring")).toBe("rollback");
    expect(transition).toBeTypeOf("function");
  });
});

describe("state by stage", () => {
  test("which ids exist in which phase is in the types (compile-time)", () => {
    // Created: CreateAccessKey answered, so the new key's id is a string.
    expectTypeOf<StateIn<"installing">["newAccessKeyId"]>().toEqualTypeOf<string>();
    expectTypeOf<StateIn<"verifying">["installedAt"]>().toEqualTypeOf<number>();
    expectTypeOf<StateIn<"deactivating">["userArn"]>().toEqualTypeOf<string>();
    expectTypeOf<StateIn<"restoring">["backup"]>().toHaveProperty("id");
    // Inspected: nothing was created yet, so there is no new key id, and no backup before backing up.
    expectTypeOf<StateIn<"backing-up">["newAccessKeyId"]>().toEqualTypeOf<undefined>();
    expectTypeOf<StateIn<"backing-up">["backup"]>().toEqualTypeOf<undefined>();
    expectTypeOf<StateIn<"backing-up">["userName"]>().toEqualTypeOf<string>();
    expectTypeOf<StateIn<"reading-store">["oldAccessKeyId"]>().toEqualTypeOf<undefined>();
    // The user ARN is known only if STS was asked before verification; a deleted old key keeps its id.
    expectTypeOf<StateIn<"creating">["userArn"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<StateIn<"done">["outcome"]>().not.toEqualTypeOf<undefined>();

    const inspected = { ...initialRotationState("memory:x", defaultRotationConfig), userName: "alice", oldAccessKeyId: "AKIA1", keys: [] };
    const backingUp: StateIn<"backing-up"> = { ...inspected, phase: "backing-up" };
    // @ts-expect-error: a backing-up state cannot hold a new key id.
    const withNewKey: StateIn<"backing-up"> = { ...backingUp, newAccessKeyId: "AKIA2" };
    // @ts-expect-error: an installing state must hold the new key id (and the backup).
    const installing: StateIn<"installing"> = { ...backingUp, phase: "installing" };
    // @ts-expect-error: a rotation state in `creating` needs the store's backup.
    const creating: RotationState = { ...backingUp, phase: "creating" };
    expect([withNewKey, installing, creating]).toHaveLength(3);

    // The in-use guard checks right after the store is read: the old key id, nothing else yet.
    expectTypeOf<StateIn<"checking-use">["oldAccessKeyId"]>().toEqualTypeOf<string>();
    const read = { ...initialRotationState("memory:x", defaultRotationConfig), oldAccessKeyId: "AKIA1" };
    const checkingUse: RotationState = { ...read, phase: "checking-use" };
    // @ts-expect-error: the check reads the old key's last use, so it needs the old key id.
    const withoutOldKey: StateIn<"checking-use"> = { ...initialRotationState("memory:x", defaultRotationConfig), phase: "checking-use" };
    // @ts-expect-error: before creation the check cannot hold the user's keys (only a verified journal's check can).
    const checkedWithKeys: RotationState = { ...read, keys: [], phase: "checking-use" };
    expect([checkingUse, withoutOldKey, checkedWithKeys]).toHaveLength(3);

    // Narrowing by phase gives the stage's ids, no fallback needed.
    const s = backingUp as RotationState;
    if (s.phase === "verifying") expectTypeOf(s.newAccessKeyId).toEqualTypeOf<string>();
    if (inPhase(s, ["deleting-new", "restoring"])) expectTypeOf(s.newAccessKeyId).toEqualTypeOf<string>();
    expectTypeOf(s.newAccessKeyId).toEqualTypeOf<string | undefined>();
  });

  test("each phase's handlers get that phase's state (compile-time)", () => {
    type InstallEffect = Parameters<PhaseTable["installing"]["effect"]>[0];
    expectTypeOf<InstallEffect>().toEqualTypeOf<StateIn<"installing">>();
    const spec: Pick<PhaseSpec<"backing-up">, "effect"> = {
      // @ts-expect-error: backing-up has no new key to install.
      effect: (s) => ({ type: "install", accessKeyId: s.newAccessKeyId }),
    };
    expect(spec.effect).toBeTypeOf("function");
  });

  test("each group's ending for an unexpected event fits the stage of every phase in it", () => {
    // transition.ts narrows to these phases before ending a retire, rollback or resume phase (their
    // endings need the stage's ids); forward's rollback undoes only the phases holding a new key.
    const phasesOf = (group: string) => (Object.keys(phaseTable) as Phase[]).filter((p) => groupOf(p) === group);
    expect(phasesOf("retire")).toEqual(["deactivating", "deleting-old"]);
    expect(phasesOf("rollback")).toEqual(["restoring", "deleting-new", "reconciling", "deleting-orphan"]);
    expect(phasesOf("resume")).toEqual(["resuming"]);
    expect(phasesOf("forward")).toEqual(["creating", "installing", "verifying"]);
  });

  test("inPhase narrows by the phases given", () => {
    const s: RotationState = { ...initialRotationState("memory:x", defaultRotationConfig), phase: "reading-store" };
    expect(inPhase(s, ["idle", "reading-store"])).toBe(true);
    expect(inPhase(s, ["installing"])).toBe(false);
  });
});

describe("docs/how-it-works.md", () => {
  test("its table of phases is the phase table: phase, step, group and events, in order", async () => {
    const { readFile } = await import("node:fs/promises");
    const doc = await readFile(new URL("../../../docs/how-it-works.md", import.meta.url), "utf8");
    const documented = [...doc.matchAll(/^\| `([a-z-]+)` +\| `([a-z-]+)` +\| ([a-z]+) +\| (.+?) +\|$/gm)].map((m) => ({
      phase: m[1],
      step: m[2],
      group: m[3],
      events: m[4] === "—" ? [] : [...(m[4] ?? "").matchAll(/`(\w+)`/g)].map((e) => e[1]),
    }));
    const actual = Object.entries(phaseTable).map(([phase, spec]) => ({ phase, step: spec.step, group: spec.group, events: Object.keys(spec.on) }));
    expect(documented).toEqual(actual);
  });
});

describe("retry loops", () => {
  test("each loop counts its own attempts: a throttled reconcile does not use up the re-creates", async () => {
    const { defaultRotationConfig, initialRotationState } = await import("@keyup/core/machine");
    const state = {
      ...initialRotationState("memory:x", defaultRotationConfig),
      phase: "reconciling" as const,
      userName: "alice",
      oldAccessKeyId: "AKIAOLDOLDOLDOLD0001",
      keys: [{ accessKeyId: "AKIAOLDOLDOLDOLD0001", status: "Active" }],
      backup: { id: "sha256:abc" },
      createRequested: true,
      loopStartedAt: 1_000,
      retries: { create: 3, verify: 0, retire: 0, rollback: 0 },
    };
    const failure = { source: "aws" as const, code: "Throttling", message: "slow down", retry: "service" as const };
    const { state: next, effects } = transition(state, { type: "effectFailed", effect: "listAccessKeys", failure, at: 1_100, random: 0 });
    expect(effects[0]?.type).toBe("wait");
    expect(next.retries).toEqual({ create: 3, verify: 0, retire: 0, rollback: 1 });
  });
});

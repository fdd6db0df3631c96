import type { Phase, PhaseSpec, PhaseTable } from "@keyup/core/machine";
import { groupOf, phaseTable, transition } from "@keyup/core/machine";
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

import { describe, expect, test } from "vitest";
import { adaptiveLimit } from "../src/_internal/adaptive-limit.js";
import { runBounded } from "../src/_internal/bounded.js";

/** A clock the test moves by hand. */
function manualClock(start = 0) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe("adaptiveLimit", () => {
  test("starts at the ceiling and stays there while only a few answers are throttled (5 %)", () => {
    const clock = manualClock();
    const limit = adaptiveLimit({ max: 8, now: clock.now });
    for (let i = 0; i < 400; i++) {
      limit.response(i % 20 === 0);
      clock.advance(10);
    }
    expect(limit.current()).toBe(8);
  });

  test("halves when a quarter of a window is throttled, and not again during the cool-down", () => {
    const clock = manualClock();
    const limit = adaptiveLimit({ max: 8, window: 40, share: 0.25, coolDownMs: 2000, now: clock.now });
    for (let i = 0; i < 40; i++) limit.response(i % 4 === 0);
    expect(limit.current()).toBe(4);
    for (let i = 0; i < 40; i++) limit.response(true);
    expect(limit.current()).toBe(4);
    clock.advance(2000);
    for (let i = 0; i < 40; i++) limit.response(true);
    expect(limit.current()).toBe(2);
    clock.advance(2000);
    for (let i = 0; i < 40; i++) limit.response(true);
    clock.advance(2000);
    for (let i = 0; i < 40; i++) limit.response(true);
    expect(limit.current()).toBe(1);
  });

  test("a window just under the share does not halve", () => {
    const limit = adaptiveLimit({ max: 8, window: 40, share: 0.25 });
    for (let i = 0; i < 40; i++) limit.response(i < 9);
    expect(limit.current()).toBe(8);
  });

  test("climbs back by one per finished task after the cool-down, never above the ceiling", () => {
    const clock = manualClock();
    const limit = adaptiveLimit({ max: 6, window: 10, coolDownMs: 1000, now: clock.now });
    for (let i = 0; i < 10; i++) limit.response(true);
    expect(limit.current()).toBe(3);
    limit.completed();
    expect(limit.current()).toBe(3);
    clock.advance(1000);
    limit.completed();
    expect(limit.current()).toBe(4);
    for (let i = 0; i < 5; i++) limit.completed();
    expect(limit.current()).toBe(6);
  });
});

describe("runBounded with a changing limit", () => {
  test("never runs more tasks at once than the limit allows when each starts, and runs them all", async () => {
    let allowed = 4;
    let running = 0;
    const startedUnder: { running: number; allowed: number }[] = [];
    const done: number[] = [];
    const tasks = Array.from({ length: 20 }, (_, i) => async () => {
      running++;
      startedUnder.push({ running, allowed });
      // The limit drops to 1 a third of the way through, as a throttled fleet's would.
      if (i === 6) allowed = 1;
      await new Promise((r) => setTimeout(r, 2));
      running--;
      done.push(i);
    });
    await runBounded(tasks, () => allowed);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(Math.max(...startedUnder.slice(0, 4).map((s) => s.running))).toBe(4);
    // Once the limit is 1, a task starts only when none runs.
    for (const s of startedUnder.slice(10)) expect(s.running).toBe(1);
  });

  test("a task that rejects does not stop the others", async () => {
    const done: number[] = [];
    await runBounded([async () => Promise.reject(new Error("boom")), async () => void done.push(1), async () => void done.push(2)], () => 1);
    expect(done).toEqual([1, 2]);
  });
});

import { createProgress } from "@keyup/cli";
import { expect, test, vi } from "vitest";

const started = { type: "step-started" as const, step: "verify", effect: { type: "verify" as const, accessKeyId: "AKIA" }, at: "" };
const finished = { type: "step" as const, step: { step: "verify", status: "ok" as const, at: "", detail: "2 consecutive successes" } };

test("on a terminal with colour: a spinner while a step runs, a green mark when it ends", () => {
  vi.useFakeTimers();
  const out: string[] = [];
  const progress = createProgress((s) => out.push(s), { tty: true, color: true });
  progress.onEvent(started);
  vi.advanceTimersByTime(250);
  progress.onEvent(finished);
  progress.stop();
  vi.useRealTimers();
  const text = out.join("");
  expect(text).toContain("⠋ verify…");
  expect(out.filter((s) => s.startsWith("\r  ")).length).toBeGreaterThanOrEqual(3);
  expect(text).toContain("\x1b[32m✓\x1b[0m verify: 2 consecutive successes\n");
});

test("color: false on a terminal: the spinner stays, the escape codes for colour go (the CLI also turns tty off under NO_COLOR)", () => {
  const out: string[] = [];
  const progress = createProgress((s) => out.push(s), { tty: true, color: false });
  progress.onEvent(started);
  progress.onEvent(finished);
  progress.stop();
  // The line-clearing code (ESC [K) stays; colour codes (ESC [3xm, ESC [0m) must not appear.
  expect(out.join("")).not.toContain("\x1b[3");
  expect(out.join("")).not.toContain("\x1b[0m");
  expect(out.join("")).toContain("  ✓ verify: 2 consecutive successes\n");
});

test("not a terminal: plain lines only, no spinner and no escape codes at all", () => {
  const out: string[] = [];
  const progress = createProgress((s) => out.push(s), { tty: false, color: false });
  progress.onEvent(started);
  progress.onEvent(finished);
  expect(out).toEqual(["  ✓ verify: 2 consecutive successes\n"]);
});

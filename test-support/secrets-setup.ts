import { appendFile, rm } from "node:fs/promises";
import { afterAll, afterEach, expect, vi } from "vitest";
import { currentMotoUrl } from "./moto-url.js";
import { captureOutput, harvestEmulatorSecrets, scanForLeaks, totals } from "./secrets.js";

// Every import of the library, in every test, goes through the observers: a test cannot call keyup
// past the secret check by importing it directly (test-support/library-observer.ts).
vi.mock("@keyup/core", async (original) => {
  const { observeCore } = await import("./library-observer.js");
  const { ResultAsync } = await import("neverthrow");
  return observeCore(await original(), ResultAsync);
});
vi.mock("../packages/core/src/aws-port.ts", async (original) => {
  const { observeAwsPortModule } = await import("./library-observer.js");
  return observeAwsPortModule(await original());
});
vi.mock("@keyup/store-secretsmanager", async (original) => {
  const { observeSecretsManager } = await import("./library-observer.js");
  return observeSecretsManager(await original());
});

// Console lines are user-visible output too (a Lambda's log, a script's stdout): tee them into the check.
const TEED = Symbol.for("keyup.test.console-teed");
const teed = console as unknown as Record<symbol, boolean>;
if (!teed[TEED]) {
  teed[TEED] = true;
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      captureOutput(`console.${level}`, args.map((a) => (typeof a === "string" ? a : (JSON.stringify(a) ?? String(a)))).join(" "), "console");
      original(...args);
    };
  }
}

// Runs around every test in the suite: no secret may appear in anything a user could see.
afterEach(async () => {
  const url = currentMotoUrl();
  if (url) await harvestEmulatorSecrets(url);
  const { leaks, folders } = await scanForLeaks();
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
  expect(leaks, "secrets found in captured output").toEqual([]);
});

afterAll(async () => {
  const file = process.env.KEYUP_SECRET_SCAN_FILE;
  if (file) await appendFile(file, `${JSON.stringify(totals)}\n`);
});

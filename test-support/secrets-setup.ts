import { appendFile, rm } from "node:fs/promises";
import { afterAll, afterEach, expect, inject } from "vitest";
import { captureWatchedLogs, findLeaks, harvestEmulatorSecrets, totals } from "./secrets.js";

// Runs around every test in the suite: no secret may appear in anything a user could see.
afterEach(async () => {
  const url = inject("motoUrl");
  if (url) await harvestEmulatorSecrets(url);
  const folders = await captureWatchedLogs();
  const leaks = findLeaks();
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
  expect(leaks, "secrets found in captured output").toEqual([]);
});

afterAll(async () => {
  const file = process.env.KEYUP_SECRET_SCAN_FILE;
  if (file) await appendFile(file, `${JSON.stringify(totals)}\n`);
});

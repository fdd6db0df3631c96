import { credentialStoreNotApplicable, credentialStoreTestCases } from "./cases.js";
import type { CreateCredentialStoreFixture, CredentialStoreTestRegistrar, CredentialStoreTestSuiteOptions } from "./types.js";

/** Added to the per-case timeout of the cross-process lock cases, which start a child process. */
const CHILD_START_MS = 45_000;

/**
 * Registers the CredentialStore conformance suite with vitest: one test per case from
 * {@link credentialStoreTestCases}, each on a fresh fixture. Call it once at the top level of a test file.
 *
 * @example
 * ```ts
 * import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { test } from "vitest";
 * import { credentialStoreTestSuite } from "@keyup/store-test-suite";
 * import { envStore } from "@keyup/store-env";
 *
 * credentialStoreTestSuite(test, ({ initial }) => {
 *   const dir = mkdtempSync(join(tmpdir(), "keyup-"));
 *   const path = join(dir, ".env");
 *   writeFileSync(path, initial ? `AWS_ACCESS_KEY_ID=${initial.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${initial.secretAccessKey}\n` : "");
 *   return {
 *     store: envStore({ path }),
 *     reopen: () => envStore({ path }),
 *     readRaw: async () => readFileSync(path),
 *     cleanup: () => rmSync(dir, { recursive: true, force: true }),
 *   };
 * });
 * ```
 */
export function credentialStoreTestSuite(
  test: CredentialStoreTestRegistrar,
  createFixture: CreateCredentialStoreFixture,
  options: CredentialStoreTestSuiteOptions = {},
): void {
  const timeout = options.timeoutMs ?? 15_000;
  for (const c of credentialStoreTestCases(createFixture, options)) {
    // A cross-process case starts a node process first: measured 6-14 s with a TypeScript loader at a
    // load average of 18 on 2 cores. Its lock() is timed inside the child, so this only bounds start-up.
    const extra = c.group === "cross-process lock" ? CHILD_START_MS : 0;
    test(c.name, ({ expect }) => c.run({ expect }), timeout + extra);
  }
  // Not registered rather than skipped or passed: the run's output says what this store was not tested for.
  const notApplicable = credentialStoreNotApplicable(options);
  if (notApplicable.length > 0) {
    console.info(`credential store conformance: not applicable to this store:\n${notApplicable.map((n) => `  - ${n.name}: ${n.reason}`).join("\n")}`);
  }
}

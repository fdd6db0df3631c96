import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { iniStore } from "@keyup/store-ini";
import { credentialStoreTestSuite } from "@keyup/store-test-suite";
import { test } from "vitest";

const source = fileURLToPath(new URL("../src/index.ts", import.meta.url));

// A file with what an edit must keep: a BOM, CRLF, comments of both kinds, an inline comment, another
// profile, a region and no final newline. "Empty" is the same profile without the two keys.
credentialStoreTestSuite(test, ({ initial }) => {
  const dir = mkdtempSync(join(tmpdir(), "keyup-ini-conformance-"));
  const path = join(dir, "credentials");
  const key = initial ? `aws_access_key_id = ${initial.accessKeyId} # rotated by keyup\r\n; note\r\naws_secret_access_key=${initial.secretAccessKey}\r\n` : "";
  writeFileSync(path, `\uFEFF# team\r\n[other]\r\nregion = us-east-1\r\n\r\n[ci]\r\n${key}region = eu-west-1`, { mode: 0o600 });
  return {
    store: iniStore({ profile: "ci", path }),
    reopen: () => iniStore({ profile: "ci", path }),
    readRaw: async () => (existsSync(path) ? readFileSync(path) : undefined),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    // The cross-process lock cases open the store from the package's source in a child process.
    inChildProcess: { module: source, exportName: "iniStore", args: [{ profile: "ci", path }], execArgv: ["--import", "tsx"] },
  };
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { envStore } from "@keyup/store-env";
import { credentialStoreTestSuite } from "@keyup/store-test-suite";
import { test } from "vitest";

const source = fileURLToPath(new URL("../src/index.ts", import.meta.url));

// A file with the things an edit must keep: comments, CRLF, `export`, both quote styles, an inline
// comment, other variables and no final newline. "Empty" is the same file without the two variables.
credentialStoreTestSuite(test, ({ initial }) => {
  const dir = mkdtempSync(join(tmpdir(), "keyup-env-conformance-"));
  const path = join(dir, ".env");
  const key = initial ? `export AWS_ACCESS_KEY_ID="${initial.accessKeyId}" # rotated by keyup\r\nAWS_SECRET_ACCESS_KEY='${initial.secretAccessKey}'\r\n` : "";
  writeFileSync(path, `# app settings\r\nPORT=3000\r\n${key}DEBUG=false`, { mode: 0o600 });
  return {
    store: envStore({ path }),
    reopen: () => envStore({ path }),
    readRaw: async () => readFileSync(path),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    // The cross-process lock cases open the store from the package's source in a child process.
    inChildProcess: { module: source, exportName: "envStore", args: [{ path }], execArgv: ["--import", "tsx"] },
  };
});

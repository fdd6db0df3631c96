import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentialStoreTestSuite } from "@keyup/store-test-suite";
import { test } from "vitest";
import { jsonFileStore } from "./json-file-store.js";

// Each case gets its own config file, with members around the key that every write must keep, and the
// key (when the suite asks for one) at /services/deploy/aws. Capabilities are left at the default, all
// true: the store claims a cross-process lock and durable backups, so it is tested for both.
credentialStoreTestSuite(test, async ({ initial }) => {
  const dir = await mkdtemp(join(tmpdir(), "keyup-json-store-"));
  const path = join(dir, "config.json");
  const aws = initial ? { region: "eu-west-1", accessKeyId: initial.accessKeyId, secretAccessKey: initial.secretAccessKey } : { region: "eu-west-1" };
  await writeFile(path, `${JSON.stringify({ name: "billing", services: { deploy: { retries: 3, aws } } }, null, 2)}\n`, { mode: 0o600 });
  const open = () => jsonFileStore({ path, pointer: "/services/deploy/aws" });
  return {
    store: open(),
    reopen: open,
    readRaw: () => readFile(path),
    cleanup: () => rm(dir, { recursive: true, force: true }),
    // The cross-process lock cases open the same store in a child process (tsx runs the TypeScript).
    inChildProcess: {
      module: fileURLToPath(new URL("./json-file-store.ts", import.meta.url)),
      exportName: "jsonFileStore",
      args: [{ path, pointer: "/services/deploy/aws" }],
      execArgv: ["--import", "tsx"],
    },
  };
});

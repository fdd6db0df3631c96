import { memoryStore } from "@keyup/core";
import { credentialStoreTestSuite } from "@keyup/store-test-suite";
import { test } from "vitest";

// The reference store holds its data in the object itself, so a "second handle" is the same object,
// and it promises neither a cross-process lock nor a backup that outlives the process. Its backups
// hold nothing outside the object, so it has no discard().
credentialStoreTestSuite(
  test,
  ({ initial }) => {
    const store = memoryStore(initial ? { initial } : {});
    return { store, reopen: () => store };
  },
  { capabilities: { crossProcessLock: false, durableBackup: false }, discard: false },
);

import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type CredentialStore, type FleetResult, rotateMany } from "@keyup/core";
import { lockFile } from "@keyup/core/files";
import { iniStore } from "@keyup/store-ini";
import { expect, test } from "vitest";
import { tempDir } from "../../../test-support/moto.js";

// Nothing listens here: every store below fails before the fleet would call AWS (its file is locked
// by someone else, or it declares no lock domain), so a test that reached AWS would fail, not pass.
const nowhere = "http://127.0.0.1:9";
const KEY = "AKIAFLEETLOCKDOMAIN1";
const SECRET = "fleetLockDomainSecret0000000000000000000";

/** `store` with its lock() counted, so a test can tell which stores the fleet asked to lock. */
function counted(store: CredentialStore, calls: string[]): CredentialStore {
  return {
    ...store,
    lock: () => {
      calls.push(store.name);
      return store.lock();
    },
  };
}

test("stores over one file share one lock, through a symlink too; a store that declares no lockDomain is refused, not locked alone", async () => {
  const dir = await tempDir("keyup-fleet-domain-");
  const path = join(dir, "credentials");
  const text = `[a]\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\n[b]\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\n[c]\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\n`;
  await writeFile(path, text, { mode: 0o600 });
  const alias = join(dir, "alias");
  await symlink(path, alias);

  const calls: string[] = [];
  const a = counted(iniStore({ profile: "a", path }), calls);
  const viaAlias = counted(iniStore({ profile: "b", path: alias }), calls);
  // A custom store over the same file that says nothing about its lock (as a plain JavaScript store
  // could): before lock domains, the fleet gave it a lock of its own and let it race the others.
  const { lockDomain: _, path: __, ...bare } = iniStore({ profile: "c", path });
  const undeclared = counted({ ...bare, name: "custom:c" } as unknown as CredentialStore, calls);

  // Someone else holds the file's lock, so the shared domain fails as one.
  const other = await lockFile(path, "another rotation");
  try {
    const result = await rotateMany({ stores: [a, viaAlias, undeclared], endpoint: nowhere });
    const [ra, rb, rc] = result._unsafeUnwrap().results as [FleetResult, FleetResult, FleetResult];
    expect(calls).toEqual([a.name]);
    expect([ra.outcome, ra.error?.kind]).toEqual(["failed", "lock"]);
    expect([rb.outcome, rb.error?.kind]).toEqual(["failed", "lock"]);
    expect(rb.error?.message).toContain(`${viaAlias.name} shares its lock with ${a.name}`);
    expect([rc.outcome, rc.error?.kind]).toEqual(["failed", "config"]);
    expect(rc.error?.message).toContain("custom:c declares no lockDomain");
    expect(JSON.stringify(result)).not.toContain(SECRET);
  } finally {
    await other.release();
  }
  expect(await readFile(path, "utf8")).toBe(text);
});

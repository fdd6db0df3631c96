import { type CredentialStore, compositeStore } from "@keyup/core";
import { envStore } from "@keyup/store-env";
import { iniStore } from "@keyup/store-ini";
import { secretsManagerStore } from "@keyup/store-secretsmanager";
import type { CliArgs, StoreSpec } from "./args.js";
import type { CliIo } from "./cli-io.js";

/**
 * The store the command works on: the profile's INI store, or with `--store`, every store named (the
 * profile's first when `--profile` was given), combined into one. A Secrets Manager store signs its
 * calls with the key held by the first file store, read afresh at each call, so that its lock is
 * released with the new key after the old one is gone.
 */
export function storeFor(args: CliArgs, io: CliIo): { store: CredentialStore; label: string } | { error: string } {
  const specs: StoreSpec[] = args.stores.length === 0 || args.profileGiven ? [{ kind: "ini", where: args.profile }, ...args.stores] : [...args.stores];
  const files: CredentialStore[] = [];
  const parts: CredentialStore[] = [];
  try {
    for (const spec of specs) {
      if (spec.kind === "ini") {
        const store = iniStore({ profile: spec.where, ...(args.credentialsFile ? { path: args.credentialsFile } : {}) });
        files.push(store);
        parts.push(store);
      } else if (spec.kind === "env") {
        const store = envStore({ path: spec.where });
        files.push(store);
        parts.push(store);
      } else {
        // The file store may come later in the list: the provider below reads it only when called.
        if (!specs.some((s) => s.kind !== "secretsmanager")) {
          return { error: "a secretsmanager store needs an ini or env store in the same rotation: their key signs the Secrets Manager calls" };
        }
        const source = () => files[0] as CredentialStore;
        parts.push(
          secretsManagerStore({
            secretId: spec.where,
            ...(args.region ? { region: args.region } : {}),
            ...(args.endpointUrl ? { endpoint: args.endpointUrl } : io.env.AWS_ENDPOINT_URL ? { endpoint: io.env.AWS_ENDPOINT_URL } : {}),
            credentials: async () => {
              const key = await source().read();
              if (!key) throw new Error(`${source().name} holds no key to sign Secrets Manager calls with`);
              return key;
            },
          }),
        );
      }
    }
    const unique = parts.filter((p, i) => parts.findIndex((q) => q.name === p.name) === i);
    const store = unique.length === 1 ? (unique[0] as CredentialStore) : compositeStore(unique);
    // People know a profile by its name and a file by its path: say both.
    const label = unique
      .map((p) =>
        p.name.startsWith("ini:") && "path" in p
          ? `profile ${p.name.slice(p.name.lastIndexOf("#") + 1)} in ${p.path}`
          : "path" in p && typeof p.path === "string"
            ? p.path
            : p.name,
      )
      .join(", ");
    return { store, label };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** The credentials file the command works on (`--credentials-file`, else the SDK's default). */
export function credentialsPathOf(args: CliArgs): string {
  return iniStore({ profile: "default", ...(args.credentialsFile ? { path: args.credentialsFile } : {}) }).path;
}

import type { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { type CredentialStore, compositeStore } from "@keyup/core";
import { iniStore, type ResolvedProfile, resolveProfile } from "@keyup/store-ini";
import type { CliArgs, StoreSpec } from "./args.js";
import type { CliIo } from "./cli-io.js";

/**
 * True when every `--store` is `secretsmanager:`: no file store holds a key to sign the Secrets Manager
 * calls with, so `--profile` (or the default credential chain) signs them instead of being rotated.
 *
 * @example
 * ```ts
 * secretsOnly(parseCliArgs(["--store", "secretsmanager:app/key", "list"]).args); // true
 * ```
 */
export function secretsOnly(args: Pick<CliArgs, "stores">): boolean {
  return args.stores.length > 0 && args.stores.every((s) => s.kind === "secretsmanager");
}

/**
 * The store the command works on: the profile's INI store, or with `--store`, every store named (the
 * profile's first when `--profile` was given), combined into one. A Secrets Manager store signs its
 * calls with the key held by the first file store, read afresh at each call, so that its lock is
 * released with the new key after the old one is gone. When every store is a secret, `--profile` (or
 * the default credential chain) signs them instead: that signer is checked first and named on stderr.
 *
 * @example
 * ```ts
 * const built = await storeFor(args, io);
 * if ("error" in built) return usage(io, built.error);
 * ```
 */
export async function storeFor(args: CliArgs, io: CliIo): Promise<BuiltStore | { error: string }> {
  const alone = secretsOnly(args);
  const specs: StoreSpec[] =
    args.stores.length === 0 || (args.profileGiven && !alone) ? [{ kind: "ini", where: args.profile }, ...args.stores] : [...args.stores];
  const files: CredentialStore[] = [];
  const parts: CredentialStore[] = [];
  const signer = alone ? await secretsSigner(args, io) : undefined;
  if (signer && "error" in signer) return signer;
  let resolved: ResolvedProfile | undefined;
  try {
    for (const spec of specs) {
      if (spec.kind === "ini") {
        // A role profile uses the key of the profile at the end of its source_profile chain: that is the key to rotate.
        const found = await resolveProfile({ profile: spec.where, path: credentialsPathOf(args), env: io.env });
        // A file it cannot read is the store's to report, in its words (EACCES, a folder, …), as without roles.
        if (found.isErr() && found.error.code !== "EIO") return { error: `store error: ${found.error.message}` };
        const keyProfile = found.isOk() ? found.value.keyProfile : spec.where;
        if (found.isOk()) resolved ??= found.value;
        if (found.isOk() && keyProfile !== spec.where && !args.quiet) {
          const verb = args.operation === "up" ? "rotating" : "using";
          io.stderr(
            `keyup: profile ${spec.where} assumes role ${found.value.roleArn}; ${verb} the key of profile ${keyProfile} (${found.value.chain.join(" -> ")})\n`,
          );
        }
        const store = iniStore({ profile: keyProfile, ...(args.credentialsFile ? { path: args.credentialsFile } : {}) });
        files.push(store);
        parts.push(store);
      } else if (spec.kind === "env") {
        // The .env and Secrets Manager stores (and the SDK client the latter brings) load only when named.
        const { envStore } = await import("@keyup/store-env");
        const store = envStore({ path: spec.where });
        files.push(store);
        parts.push(store);
      } else {
        // The file store may come later in the list: the provider below reads it only when called.
        const source = () => files[0] as CredentialStore;
        const { secretsManagerStore } = await import("@keyup/store-secretsmanager");
        parts.push(
          secretsManagerStore({
            secretId: spec.where,
            ...(args.region ? { region: args.region } : {}),
            ...(args.endpointUrl ? { endpoint: args.endpointUrl } : io.env.AWS_ENDPOINT_URL ? { endpoint: io.env.AWS_ENDPOINT_URL } : {}),
            credentials:
              signer?.credentials ??
              (async () => {
                const key = await source().read();
                if (!key) throw new Error(`${source().name} holds no key to sign Secrets Manager calls with`);
                return key;
              }),
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
    if (signer && !args.quiet) io.stderr(`keyup: Secrets Manager calls signed by ${signer.said}; IAM calls by the key in the secret\n`);
    return { store, label, ...(resolved ? { resolved } : {}) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The store a command works on, how to name it, and (with a profile) whose key it is.
 *
 * @example
 * ```ts
 * const built: BuiltStore = { store, label: "profile base in /home/me/.aws/credentials" };
 * ```
 */
export interface BuiltStore {
  readonly store: CredentialStore;
  readonly label: string;
  /** The first profile's resolution: for a role profile, the profile holding the key and its MFA device. */
  readonly resolved?: ResolvedProfile;
}

/**
 * Who signs the Secrets Manager calls when no file store holds a key: the profile when one was named
 * (`--profile`, `$AWS_PROFILE`), read as the SDK reads it, else the SDK's default chain. Resolved once
 * here so that an unusable signer is a usage error before anything is read, not a failure mid-rotation.
 */
async function secretsSigner(args: CliArgs, io: CliIo): Promise<{ credentials: ReturnType<typeof fromNodeProviderChain>; said: string } | { error: string }> {
  const file = args.credentialsFile ?? io.env.AWS_SHARED_CREDENTIALS_FILE;
  const { fromIni, fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
  const provider = args.profileGiven
    ? fromIni({ profile: args.profile, ...(file ? { filepath: file } : {}), ...(io.env.AWS_CONFIG_FILE ? { configFilepath: io.env.AWS_CONFIG_FILE } : {}) })
    : fromNodeProviderChain();
  const said = args.profileGiven ? `profile ${args.profile}` : "the default AWS credential chain";
  try {
    await provider();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { error: `no credentials to sign the Secrets Manager calls with (${said}): ${why}` };
  }
  return { credentials: provider, said };
}

/** The credentials file the command works on (`--credentials-file`, else the SDK's default). */
export function credentialsPathOf(args: CliArgs): string {
  return iniStore({ profile: "default", ...(args.credentialsFile ? { path: args.credentialsFile } : {}) }).path;
}

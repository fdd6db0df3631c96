import { err, ok, type Result, ResultAsync } from "neverthrow";
import type { AwsOptions } from "../aws-port.js";
import type { AccessKeyPair, CredentialStore } from "../credential-store.js";
import type { ConfigError, KeyupError } from "../errors.js";
import { redact } from "../errors.js";

const STORE_METHODS = ["read", "backup", "write", "restore", "lock"] as const;

/** Checks that `store` has the shape of a CredentialStore, so a bad custom store fails clearly, not half-way. */
export function checkStore(store: unknown): Result<CredentialStore, ConfigError> {
  if (typeof store !== "object" || store === null)
    return err({ kind: "config", message: "store is required: pass a CredentialStore such as iniStore({ profile })" });
  const s = store as Record<string, unknown>;
  if (typeof s.name !== "string" || s.name === "") return err({ kind: "config", message: "store has no name: a CredentialStore needs a printable name" });
  const missing = STORE_METHODS.filter((m) => typeof s[m] !== "function");
  if (missing.length > 0) return err({ kind: "config", message: `store ${s.name} is not a CredentialStore: missing ${missing.join(", ")}()` });
  return ok(store as CredentialStore);
}

/** Checks the AWS options people most often get wrong, before any call is made. */
export function checkAwsOptions(options: AwsOptions): Result<AwsOptions, ConfigError> {
  if (options.endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(options.endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return err({ kind: "config", message: `endpoint "${options.endpoint}" is not an http(s) URL (for example http://127.0.0.1:5000)` });
    }
  }
  if (options.region !== undefined && !/^[a-z]{2}(-[a-z0-9]+)+-\d+$/.test(options.region)) {
    return err({ kind: "config", message: `region "${options.region}" is not an AWS region name (for example us-east-1)` });
  }
  if (options.credentials !== undefined) {
    const c = options.credentials;
    if (typeof c.accessKeyId !== "string" || c.accessKeyId === "" || typeof c.secretAccessKey !== "string" || c.secretAccessKey === "") {
      return err({ kind: "config", message: "credentials need accessKeyId and secretAccessKey" });
    }
  }
  return ok(options);
}

/** IAM's own rule for user names. */
export function checkUserName(userName: string | undefined): Result<string | undefined, ConfigError> {
  if (userName === undefined) return ok(undefined);
  if (!/^[\w+=,.@-]{1,64}$/.test(userName)) return err({ kind: "config", message: `userName "${userName}" is not a valid IAM user name` });
  return ok(userName);
}

/**
 * Calls a store method with every failure (sync throw or rejection) turned into a typed error,
 * through `ResultAsync.fromThrowable` so store authors need not know neverthrow.
 */
export function callStore<T>(store: CredentialStore, what: string, call: () => Promise<T>): ResultAsync<T, KeyupError> {
  return ResultAsync.fromThrowable(call, (error): KeyupError => {
    const e = error as { code?: unknown; message?: unknown; holder?: unknown };
    const message = redact(typeof e?.message === "string" ? e.message : `${store.name}: ${what} failed`);
    if (e?.code === "ELOCKED") {
      return { kind: "lock", store: store.name, message, cause: error, ...(typeof e.holder === "string" ? { holder: e.holder } : {}) };
    }
    return { kind: "store", store: store.name, code: typeof e?.code === "string" ? e.code : "EIO", message, cause: error };
  })();
}

/** Reads the store's key, failing clearly when it holds none. */
export function readStoreKey(store: CredentialStore): ResultAsync<AccessKeyPair, KeyupError> {
  return callStore(store, "read", () => store.read()).andThen((key) =>
    key ? ok(key) : err<AccessKeyPair, KeyupError>({ kind: "config", message: `${store.name} holds no access key` }),
  );
}

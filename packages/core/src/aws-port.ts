import type { IAMClient, IAMClientConfig } from "@aws-sdk/client-iam";
import type { STSClient } from "@aws-sdk/client-sts";
import { noticeNode20 } from "./_internal/node-support.js";
import type { AccessKeyPair } from "./credential-store.js";
import type { KeySummary } from "./machine/types.js";

// The SDK is loaded on the first AWS call, not when @keyup/core is imported: it is most of keyup's
// start-up time (about 0.3 s of module loading on 2 cores), and `keyup --help`, a dry run's option
// checks or a store's tests never call AWS. Each module is loaded once per process.
let iamModule: Promise<typeof import("@aws-sdk/client-iam")> | undefined;
let stsModule: Promise<typeof import("@aws-sdk/client-sts")> | undefined;
const loadIam = () => {
  iamModule ??= import("@aws-sdk/client-iam");
  return iamModule;
};
const loadSts = () => {
  stsModule ??= import("@aws-sdk/client-sts");
  return stsModule;
};

/**
 * Credentials an AWS call is signed with: an access key pair, optionally with a session token
 * (for the caller-given `credentials` of an admin, or an MFA session).
 *
 * @example
 * ```ts
 * const credentials: SigningCredentials = { accessKeyId: "AKIA…", secretAccessKey: "…" };
 * ```
 */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** When session credentials expire (GetSessionToken's `Expiration`); absent for long-term keys. */
  readonly expiration?: Date;
}

/**
 * How keyup reaches AWS. Everything is optional: region defaults to `AWS_REGION`, then
 * `AWS_DEFAULT_REGION`, then `us-east-1` (IAM is global); the endpoint defaults to the SDK's own
 * resolution, which honours `AWS_ENDPOINT_URL`.
 *
 * @example
 * ```ts
 * const aws: AwsOptions = { region: "eu-west-1", endpoint: "http://127.0.0.1:5000" };
 * ```
 */
export interface AwsOptions {
  readonly region?: string;
  /** A custom endpoint for IAM and STS (for example a local emulator). */
  readonly endpoint?: string;
  /**
   * Sign IAM calls with these instead of the store's key (an admin rotating another user's key).
   * Verify always uses the new key alone. keyup never falls back to the ambient credential chain.
   */
  readonly credentials?: SigningCredentials;
  /** SDK attempts per call, including the first, for throttling and server errors. Default 6. */
  readonly maxAttempts?: number;
  /** Per-request socket timeout in ms. Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** Extra SDK client configuration, merged last (for example a custom `requestHandler`). */
  readonly clientConfig?: Partial<IAMClientConfig>;
  /**
   * Called for every answer AWS gives, each SDK retry included, saying whether it was throttled.
   * `rotateMany()` uses it to run fewer rotations at once while IAM throttles. A throw is ignored.
   */
  readonly onResponse?: (answer: { readonly throttled: boolean }) => void;
}

/**
 * The IAM and STS operations keyup uses, with credentials passed per call. `rotate()` builds one with
 * {@link createAwsPort}; tests may substitute their own.
 *
 * @example
 * ```ts
 * const aws = createAwsPort({ endpoint: "http://127.0.0.1:5000" });
 * const keys = await aws.listAccessKeys("ci-bot", credentials);
 * ```
 */
export interface AwsPort {
  getCallerIdentity(credentials: SigningCredentials): Promise<{ arn: string; account: string }>;
  listAccessKeys(userName: string, credentials: SigningCredentials): Promise<KeySummary[]>;
  createAccessKey(userName: string, credentials: SigningCredentials): Promise<AccessKeyPair>;
  updateAccessKey(userName: string, accessKeyId: string, status: "Active" | "Inactive", credentials: SigningCredentials): Promise<void>;
  deleteAccessKey(userName: string, accessKeyId: string, credentials: SigningCredentials): Promise<void>;
  getAccessKeyLastUsed(accessKeyId: string, credentials: SigningCredentials): Promise<{ date?: Date; serviceName?: string; region?: string }>;
  listUserTags(userName: string, credentials: SigningCredentials): Promise<Record<string, string>>;
  tagUser(userName: string, tags: readonly { key: string; value: string }[], credentials: SigningCredentials): Promise<void>;
  untagUser(userName: string, keys: readonly string[], credentials: SigningCredentials): Promise<void>;
  /** STS GetSessionToken with an MFA code: a session (15 min unless `durationSeconds` says) whose calls count as MFA-authenticated. */
  getSessionToken(credentials: SigningCredentials, mfa: { serialNumber: string; tokenCode: string }, durationSeconds?: number): Promise<SigningCredentials>;
}

/**
 * Builds the {@link AwsPort} keyup uses, on `@aws-sdk/client-iam` and `@aws-sdk/client-sts`.
 * Clients are created per signing key and reused.
 *
 * @example
 * ```ts
 * const aws = createAwsPort({ region: "us-east-1" });
 * const { arn } = await aws.getCallerIdentity({ accessKeyId, secretAccessKey });
 * ```
 */
export function createAwsPort(options: AwsOptions = {}): AwsPort {
  // Before the first SDK client: keyup's notice on Node 20 instead of the SDK's (see node-support.ts).
  noticeNode20();
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  const base = {
    region,
    maxAttempts: options.maxAttempts ?? 6,
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 10_000, connectionTimeout: 5_000, throwOnRequestTimeout: true },
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
  };
  const iamClients = new Map<string, Promise<IAMClient>>();
  // CreateAccessKey is not idempotent: an SDK retry after a lost answer would create a second key. It
  // gets one attempt; the rotation machine looks for a key a lost answer created before trying again.
  const createClients = new Map<string, Promise<IAMClient>>();
  const stsClients = new Map<string, Promise<STSClient>>();
  // One clock correction for all clients of this port (one rotation): the SDK learns the machine's
  // skew from the first refused or answered request of one client; without sharing, CreateAccessKey's
  // single-attempt client would still sign with the uncorrected clock and be refused.
  const clock = { offset: 0 };
  const shared = <C extends { config: object; middlewareStack: MiddlewareStackLike }>(client: C): C =>
    observeAnswers(shareClockOffset(client, clock), options.onResponse);
  // A client signs with one key, so a fleet needs a few clients per profile. What they can share,
  // they do: the first client of each service resolves the settings the SDK would otherwise read
  // again for every client (from the environment and by parsing the shared config and credentials
  // files, a 100-profile file several times per client), and its request handler (one pool of
  // keep-alive connections instead of a new connection per client) serves every later client.
  const settings = new Map<"iam" | "sts", Promise<object>>();
  let requestHandler: unknown;
  const settled = <C extends SdkClient>(service: "iam" | "sts", build: (extra: object) => C): Promise<C> => {
    const known = settings.get(service);
    if (known) return known.then((extra) => build({ ...extra, requestHandler }));
    const first = build(requestHandler ? { requestHandler } : {});
    requestHandler ??= (first.config as { requestHandler?: unknown }).requestHandler;
    // A setting the SDK cannot resolve (a malformed config file) is left to each client, whose
    // calls then fail with the SDK's own error, as they did before.
    settings.set(
      service,
      settingsOf(first).catch(() => ({})),
    );
    return Promise.resolve(first);
  };
  const keyOf = (c: SigningCredentials) => `${c.accessKeyId}:${c.sessionToken ?? ""}`;
  const cached = <C>(clients: Map<string, Promise<C>>, credentials: SigningCredentials, create: () => Promise<C>): Promise<C> => {
    let client = clients.get(keyOf(credentials));
    if (!client) {
      client = create();
      clients.set(keyOf(credentials), client);
    }
    return client;
  };
  const iam = async (credentials: SigningCredentials) => {
    const sdk = await loadIam();
    const client = await cached(iamClients, credentials, () =>
      settled("iam", (extra) => shared(new sdk.IAMClient({ ...base, ...extra, ...options.clientConfig, credentials: identityOf(credentials) }))),
    );
    return { sdk, client };
  };
  const iamOnce = async (credentials: SigningCredentials) => {
    const sdk = await loadIam();
    const client = await cached(createClients, credentials, () =>
      settled("iam", (extra) =>
        shared(new sdk.IAMClient({ ...base, ...extra, ...options.clientConfig, maxAttempts: 1, credentials: identityOf(credentials) })),
      ),
    );
    return { sdk, client };
  };
  const sts = async (credentials: SigningCredentials) => {
    const sdk = await loadSts();
    const client = await cached(stsClients, credentials, () =>
      settled("sts", (extra) => shared(new sdk.STSClient({ ...base, ...extra, ...(options.clientConfig as object), credentials: identityOf(credentials) }))),
    );
    return { sdk, client };
  };

  return {
    getCallerIdentity: async (credentials) => {
      const { sdk, client } = await sts(credentials);
      const out = await client.send(new sdk.GetCallerIdentityCommand({}));
      return { arn: out.Arn ?? "", account: out.Account ?? "" };
    },
    listAccessKeys: async (userName, credentials) => {
      const keys: KeySummary[] = [];
      let marker: string | undefined;
      do {
        const { sdk, client } = await iam(credentials);
        const out = await client.send(new sdk.ListAccessKeysCommand({ UserName: userName, ...(marker ? { Marker: marker } : {}) }));
        for (const k of out.AccessKeyMetadata ?? []) {
          if (!k.AccessKeyId) continue;
          keys.push({
            accessKeyId: k.AccessKeyId,
            status: k.Status ?? "Unknown",
            ...(k.CreateDate ? { createDate: k.CreateDate.toISOString() } : {}),
          });
        }
        marker = out.IsTruncated ? out.Marker : undefined;
      } while (marker);
      return keys;
    },
    createAccessKey: async (userName, credentials) => {
      const { sdk, client } = await iamOnce(credentials);
      const out = await client.send(new sdk.CreateAccessKeyCommand({ UserName: userName }));
      const id = out.AccessKey?.AccessKeyId;
      const secret = out.AccessKey?.SecretAccessKey;
      if (!id || !secret) throw Object.assign(new Error("CreateAccessKey answered without a key"), { name: "MalformedResponse" });
      return { accessKeyId: id, secretAccessKey: secret };
    },
    updateAccessKey: async (userName, accessKeyId, status, credentials) => {
      const { sdk, client } = await iam(credentials);
      await client.send(new sdk.UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: status }));
    },
    deleteAccessKey: async (userName, accessKeyId, credentials) => {
      const { sdk, client } = await iam(credentials);
      await client.send(new sdk.DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId }));
    },
    listUserTags: async (userName, credentials) => {
      const tags: Record<string, string> = {};
      let marker: string | undefined;
      do {
        const { sdk, client } = await iam(credentials);
        const out = await client.send(new sdk.ListUserTagsCommand({ UserName: userName, ...(marker ? { Marker: marker } : {}) }));
        for (const t of out.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? "";
        marker = out.IsTruncated ? out.Marker : undefined;
      } while (marker);
      return tags;
    },
    tagUser: async (userName, tags, credentials) => {
      const { sdk, client } = await iam(credentials);
      await client.send(new sdk.TagUserCommand({ UserName: userName, Tags: tags.map((t) => ({ Key: t.key, Value: t.value })) }));
    },
    untagUser: async (userName, keys, credentials) => {
      const { sdk, client } = await iam(credentials);
      await client.send(new sdk.UntagUserCommand({ UserName: userName, TagKeys: [...keys] }));
    },
    getSessionToken: async (credentials, mfa, durationSeconds = 900) => {
      const { sdk, client } = await sts(credentials);
      const out = await client.send(
        new sdk.GetSessionTokenCommand({ SerialNumber: mfa.serialNumber, TokenCode: mfa.tokenCode, DurationSeconds: durationSeconds }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
        throw Object.assign(new Error("GetSessionToken answered without credentials"), { name: "MalformedResponse" });
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        ...(c.Expiration ? { expiration: c.Expiration } : {}),
      };
    },
    getAccessKeyLastUsed: async (accessKeyId, credentials) => {
      const { sdk, client } = await iam(credentials);
      const out = await client.send(new sdk.GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }));
      const used = out.AccessKeyLastUsed;
      return {
        ...(used?.LastUsedDate ? { date: used.LastUsedDate } : {}),
        ...(used?.ServiceName && used.ServiceName !== "N/A" ? { serviceName: used.ServiceName } : {}),
        ...(used?.Region && used.Region !== "N/A" ? { region: used.Region } : {}),
      };
    },
  };
}

/**
 * Makes `client.config.systemClockOffset` (the SDK v3's correction of the machine's clock, read when a
 * request is signed and updated from the server's `Date` on a skew error) one value held in `clock`.
 */
function shareClockOffset<C extends { config: object }>(client: C, clock: { offset: number }): C {
  Object.defineProperty(client.config, "systemClockOffset", {
    get: () => clock.offset,
    set: (value: unknown) => {
      if (typeof value === "number" && Number.isFinite(value)) clock.offset = value;
    },
    enumerable: true,
    configurable: true,
  });
  return client;
}

/** What {@link settingsOf} and the shared request handler need of an SDK client. */
interface SdkClient {
  readonly config: object;
  readonly middlewareStack: MiddlewareStackLike;
}

/**
 * The settings an SDK client resolved from the environment and the shared config files (each a
 * provider the SDK memoizes per client), as plain values a later client of the same service takes
 * as given instead of reading and parsing the files again. Same values, same precedence: these are
 * what the SDK itself resolved. An endpoint configured for the service (`AWS_ENDPOINT_URL_IAM`,
 * `endpoint_url`) is handed on as the endpoint; none configured, later clients skip the lookup.
 */
async function settingsOf(client: SdkClient): Promise<object> {
  const config = client.config as Record<string, unknown>;
  const value = async (name: string): Promise<unknown> => {
    const setting = config[name];
    return typeof setting === "function" ? await (setting as () => Promise<unknown>)() : setting;
  };
  const names = [
    "authSchemePreference",
    "defaultsMode",
    "disableClockSkewCorrection",
    "retryMode",
    "useDualstackEndpoint",
    "useFipsEndpoint",
    "userAgentAppId",
  ];
  const values = await Promise.all(names.map(value));
  // As providers of the resolved value: a plain `undefined` (no app id set) would make the SDK look again.
  const out: Record<string, unknown> = {};
  names.forEach((name, i) => {
    out[name] = () => Promise.resolve(values[i]);
  });
  if (config.isCustomEndpoint !== true) {
    const configured = await value("serviceConfiguredEndpoint");
    if (configured !== undefined) out.endpoint = configured;
    else out.ignoreConfiguredEndpointUrls = true;
  }
  return out;
}

/** The part of an SDK client's middleware stack {@link observeAnswers} uses. */
interface MiddlewareStackLike {
  add(middleware: unknown, options: { step: "deserialize"; name: string; priority: "high" }): void;
}

const THROTTLED = new Set(["Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"]);

/**
 * Reports each attempt's answer to `onResponse`. A deserialize-step middleware runs inside the SDK's
 * retry loop, so it sees every attempt, the throttled ones the SDK then retries included.
 */
function observeAnswers<C extends { middlewareStack: MiddlewareStackLike }>(client: C, onResponse: AwsOptions["onResponse"]): C {
  if (!onResponse) return client;
  const tell = (throttled: boolean) => {
    try {
      onResponse({ throttled });
    } catch {
      // an observer must not change what the call returns
    }
  };
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      try {
        const out = await next(args);
        tell(false);
        return out;
      } catch (error) {
        tell(THROTTLED.has((error as { name?: string })?.name ?? ""));
        throw error;
      }
    },
    // High priority: outside the SDK's deserializer (so an error answer arrives as the thrown, named
    // error) yet still inside the retry loop of the finalizeRequest step.
    { step: "deserialize", name: "keyupObserveAnswers", priority: "high" },
  );
  return client;
}

/** The SDK's view of signing credentials: the key and token only (keyup checks a session's expiry itself). */
function identityOf(c: SigningCredentials): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken !== undefined ? { sessionToken: c.sessionToken } : {}) };
}

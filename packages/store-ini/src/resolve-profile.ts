import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { StoreError } from "@keyup/core";
import { ResultAsync } from "neverthrow";
import { tokenize } from "./_internal/ini-lines.js";
import { credentialsPath } from "./_internal/paths.js";
import { ACCESS_KEY_ID, quote, SECRET_ACCESS_KEY, viewProfile } from "./_internal/profile.js";

/**
 * Options for {@link resolveProfile}.
 *
 * @example
 * ```ts
 * const options: ResolveProfileOptions = { profile: "prod", configPath: "~/.aws/config" };
 * ```
 */
export interface ResolveProfileOptions {
  /** The profile asked for, such as `prod`. */
  readonly profile: string;
  /** The shared credentials file. Default: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`. */
  readonly path?: string;
  /** The shared config file. Default: `AWS_CONFIG_FILE`, else `~/.aws/config`. */
  readonly configPath?: string;
  /** Where `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE` are read. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Whose key a profile uses: itself, or for a role profile the profile at the end of its
 * `source_profile` chain.
 *
 * @example
 * ```ts
 * const resolved: ResolvedProfile = { profile: "prod", keyProfile: "base", chain: ["prod", "mid", "base"], path, configPath };
 * ```
 */
export interface ResolvedProfile {
  /** The profile asked for. */
  readonly profile: string;
  /** The profile whose access key the asked profile uses (pass it to `iniStore`). */
  readonly keyProfile: string;
  /** The profiles followed, from `profile` to `keyProfile`; one name when the profile holds its own key. */
  readonly chain: readonly string[];
  /** The role the asked profile assumes (`role_arn`), when it is a role profile. */
  readonly roleArn?: string;
  /**
   * The MFA device that guards the key: `keyProfile`'s `mfa_serial`, else the first one set along the
   * chain from the asked profile (a role profile's, as aws-vault reads it).
   */
  readonly mfaSerial?: string;
  /** The credentials file read (absolute). */
  readonly path: string;
  /** The config file read (absolute). */
  readonly configPath: string;
}

/**
 * Why a profile could not be resolved to a key keyup can rotate: a store error whose `code` says which.
 * `ECYCLE`: the `source_profile` chain loops. `ENOKEY`: the chain ends in a profile without a static key
 * in the credentials file. `EUNSUPPORTED`: SSO, `credential_process`, web identity, `credential_source`,
 * or a role without `source_profile`: there is no long-term key in a file to rotate. `ENOTFOUND`: a
 * `source_profile` names a profile neither file has. `EINVALID`: a profile written twice or a setting set
 * twice. `EIO`: a file could not be read.
 *
 * @example
 * ```ts
 * if (result.isErr() && result.error.code === "ECYCLE") console.error(result.error.chain.join(" -> "));
 * ```
 */
export interface ProfileResolutionError extends StoreError {
  readonly code: "ECYCLE" | "ENOKEY" | "EUNSUPPORTED" | "ENOTFOUND" | "EINVALID" | "EIO";
  /** The profiles followed before the problem, from the asked profile. */
  readonly chain: readonly string[];
}

/** A profile's settings, names lowercased; `inCredentials` says which came from the credentials file. */
interface Settings {
  readonly values: ReadonlyMap<string, string>;
  readonly inCredentials: ReadonlySet<string>;
}

const SSO = ["sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "sso_region"];

/**
 * Follows a profile to the access key it uses, as the AWS CLI and SDKs do (and aws-vault): a profile
 * with `role_arn` and `source_profile` uses the source profile's credentials, through any number of
 * role profiles (`prod -> mid -> base`); the chain ends at the first source that holds a static key
 * (`aws_access_key_id`), which wins over its own `role_arn`. A profile's settings come from
 * `[profile NAME]` of the config file (`[default]` for default) and `[NAME]` of the credentials file,
 * the credentials file winning where both set one, as the AWS CLI merges them
 * (https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html).
 *
 * Only reads. A profile that is no role comes back as itself: `iniStore` then reads (or refuses) it.
 * SSO, `credential_process`, web identity and `credential_source` profiles are refused (`EUNSUPPORTED`),
 * a loop is `ECYCLE`, a chain ending without a static key in the credentials file is `ENOKEY`;
 * messages name profiles and files, never a value of a key.
 *
 * @example
 * ```ts
 * import { rotate } from "@keyup/core";
 * import { iniStore, resolveProfile } from "@keyup/store-ini";
 *
 * const resolved = await resolveProfile({ profile: "prod" });
 * if (resolved.isOk()) {
 *   const { keyProfile, mfaSerial } = resolved.value; // "base", "arn:aws:iam::123456789012:mfa/me"
 *   const result = await rotate({ store: iniStore({ profile: keyProfile }) });
 * }
 * ```
 */
export function resolveProfile(options: ResolveProfileOptions): ResultAsync<ResolvedProfile, ProfileResolutionError> {
  const env = options.env ?? process.env;
  const path = credentialsPath(options.path, env);
  const configPath = resolve(options.configPath ?? (env.AWS_CONFIG_FILE || undefined) ?? join(env.HOME ?? homedir(), ".aws", "config"));
  const chain: string[] = [options.profile];
  const fail = (code: ProfileResolutionError["code"], message: string, cause?: unknown): ProfileResolutionError => ({
    kind: "store",
    store: `ini:${path}#${options.profile}`,
    code,
    message,
    chain: [...chain],
    ...(cause === undefined ? {} : { cause }),
  });
  return ResultAsync.fromPromise(
    (async () => {
      const [credentialsText, configText] = await Promise.all([readText(path), readText(configPath)]);
      // Each file tokenized once, each profile read once: credentials files with 20,000 profiles exist.
      const credentialsIni = tokenize(credentialsText);
      const configIni = tokenize(configText);
      const known = new Map<string, Settings | undefined>();
      const settingsOf = (profile: string): Settings | undefined => {
        if (!known.has(profile)) known.set(profile, readSettings(profile));
        return known.get(profile);
      };
      const readSettings = (profile: string): Settings | undefined => {
        const values = new Map<string, string>();
        const inCredentials = new Set<string>();
        let found = false;
        const sections = profile === "default" ? ["default", "profile default"] : [`profile ${profile}`];
        for (const section of sections) {
          const view = viewProfile(configText, section, ` in ${configPath}`, configIni);
          if (view.kind === "missing") continue;
          found = true;
          for (const entry of view.entries) values.set(entry.name, entry.value);
        }
        const view = viewProfile(credentialsText, profile, ` in ${path}`, credentialsIni);
        if (view.kind === "present") {
          found = true;
          for (const entry of view.entries) {
            values.set(entry.name, entry.value);
            inCredentials.add(entry.name);
          }
        }
        return found ? { values, inCredentials } : undefined;
      };
      return walk(options.profile, chain, settingsOf, path, configPath, fail);
    })(),
    (cause) => {
      if (isResolutionError(cause)) return cause;
      const code = (cause as { code?: unknown })?.code;
      const message = cause instanceof Error ? cause.message : String(cause);
      return fail(code === "EINVALID" ? "EINVALID" : "EIO", message, cause);
    },
  );
}

function walk(
  profile: string,
  chain: string[],
  settingsOf: (profile: string) => Settings | undefined,
  path: string,
  configPath: string,
  fail: (code: ProfileResolutionError["code"], message: string) => ProfileResolutionError,
): ResolvedProfile {
  const both = `${path} or ${configPath}`;
  // The SDKs' cycle rule: a profile reached twice as a source is a loop. A role profile whose
  // source_profile is itself is no loop when it holds a static key: the second visit uses that key.
  const sources = new Set<string>();
  let current = profile;
  let roleArn: string | undefined;
  for (;;) {
    const settings = settingsOf(current);
    const first = chain.length === 1;
    if (!settings) {
      // The asked profile missing is the store's to report (it lists the profiles present).
      if (first) return { profile, keyProfile: profile, chain: [profile], path, configPath };
      throw fail(
        "ENOTFOUND",
        `profile ${quote(chain.at(-2) as string)} takes its credentials from source_profile ${quote(current)}, which is in neither ${both}`,
      );
    }
    const value = (name: string) => {
      const found = settings.values.get(name);
      return found === undefined || found === "" ? undefined : found;
    };
    const route = chain.map((name) => quote(name)).join(" -> ");
    const hasKey = value(ACCESS_KEY_ID) !== undefined || value(SECRET_ACCESS_KEY) !== undefined;
    // After the first hop a static key wins over role settings (botocore, the JS SDK's resolveProfileData).
    const role = value("role_arn");
    if (role !== undefined && (first || !hasKey)) {
      if (first) roleArn = role;
      const source = value("source_profile");
      if (source === undefined) {
        const credentialSource = value("credential_source");
        const how = credentialSource
          ? `credential_source ${credentialSource}`
          : value("web_identity_token_file") !== undefined
            ? "a web identity token"
            : "no source_profile";
        throw fail(
          "EUNSUPPORTED",
          `profile ${quote(current)} assumes role ${role} with ${how}: its credentials are temporary and no long-term key in a file backs them, so there is nothing to rotate`,
        );
      }
      if (sources.has(source)) {
        throw fail("ECYCLE", `the source_profile chain of profile ${quote(profile)} loops: ${route} -> ${quote(source)}; fix source_profile in ${both}`);
      }
      sources.add(source);
      chain.push(source);
      current = source;
      continue;
    }
    const indirect = SSO.find((name) => value(name) !== undefined)
      ? "signs in with IAM Identity Center (SSO): its credentials are temporary and there is no access key to rotate"
      : value("credential_process") !== undefined
        ? "gets its credentials from credential_process: rotate them where that process keeps them"
        : value("web_identity_token_file") !== undefined
          ? "uses a web identity token: its credentials are temporary and there is no access key to rotate"
          : undefined;
    if (indirect && !hasKey) {
      throw fail("EUNSUPPORTED", first ? `profile ${quote(current)} ${indirect}` : `${route}: profile ${quote(current)} ${indirect}`);
    }
    if (first) return { profile, keyProfile: profile, chain: [profile], path, configPath, ...mfaOf([settings]) };
    if (!hasKey) {
      throw fail(
        "ENOKEY",
        `${route}: profile ${quote(current)} holds no access key; put aws_access_key_id and aws_secret_access_key in its [${current}] section of ${path}`,
      );
    }
    if (!settings.inCredentials.has(ACCESS_KEY_ID) && !settings.inCredentials.has(SECRET_ACCESS_KEY)) {
      throw fail(
        "ENOKEY",
        `${route}: profile ${quote(current)} holds its key in ${configPath}; keyup edits the credentials file, so move aws_access_key_id and aws_secret_access_key into a [${current}] section of ${path}`,
      );
    }
    if (value("role_arn") !== undefined) {
      // Its own source: the key is there, but the store refuses to edit a profile that also assumes a role.
      throw fail(
        "EUNSUPPORTED",
        `${route}: profile ${quote(current)} holds the key and also sets role_arn; keyup edits only profiles that hold a key and nothing else: move the role settings to their own profile with source_profile = ${current}`,
      );
    }
    const settingsAlong = chain.map((name) => settingsOf(name) as Settings);
    // The key's own mfa_serial first, then the asked profile's and the others along the chain.
    return {
      profile,
      keyProfile: current,
      chain: [...chain],
      path,
      configPath,
      ...(roleArn ? { roleArn } : {}),
      ...mfaOf([settingsAlong.at(-1) as Settings, ...settingsAlong.slice(0, -1)]),
    };
  }
}

function mfaOf(settings: readonly Settings[]): { mfaSerial?: string } {
  for (const one of settings) {
    const serial = one.values.get("mfa_serial")?.trim();
    if (serial) return { mfaSerial: serial };
  }
  return {};
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    // A missing file holds no profile; the store reports a missing credentials file itself.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw error;
  }
}

function isResolutionError(value: unknown): value is ProfileResolutionError {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "store" && Array.isArray((value as { chain?: unknown }).chain);
}

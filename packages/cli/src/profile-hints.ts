import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse } from "ini";

/**
 * When a profile is missing from the credentials file, looks for it in the AWS config file
 * (`$AWS_CONFIG_FILE`, else `~/.aws/config`) and says what it is instead: a role, SSO, a credential
 * process, or static keys kept in the wrong file. Reading only, with the `ini` parser.
 *
 * @example
 * ```ts
 * await explainProfile("deploy", process.env);
 * // "profile deploy in /home/me/.aws/config assumes role arn:…; its keys come from profile base: run keyup --profile base"
 * ```
 */
export async function explainProfile(profile: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const path = env.AWS_CONFIG_FILE ?? join(env.HOME ?? homedir(), ".aws", "config");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  let sections: Record<string, unknown>;
  try {
    sections = parse(text);
  } catch {
    return undefined;
  }
  const section = (profile === "default" ? (sections.default ?? sections["profile default"]) : sections[`profile ${profile}`]) as
    | Record<string, unknown>
    | undefined;
  if (typeof section !== "object" || section === null) return undefined;
  const has = (key: string) => Object.keys(section).some((k) => k.toLowerCase() === key);
  const value = (key: string) => String(Object.entries(section).find(([k]) => k.toLowerCase() === key)?.[1] ?? "");
  const where = `profile ${profile} in ${path}`;
  if (has("role_arn")) {
    if (has("source_profile")) {
      const source = value("source_profile");
      return `${where} assumes role ${value("role_arn")}; its long-term key belongs to profile ${source}: run keyup --profile ${source}`;
    }
    return `${where} assumes role ${value("role_arn")} with temporary credentials: there is no access key to rotate`;
  }
  if (has("sso_session") || has("sso_start_url") || has("sso_account_id")) {
    return `${where} signs in with IAM Identity Center (SSO): its credentials are temporary and there is no access key to rotate`;
  }
  if (has("credential_process")) return `${where} gets its credentials from an external process: rotate them where that process keeps them`;
  if (has("aws_access_key_id")) {
    return `${where} holds a static key; keyup edits the credentials file, so move aws_access_key_id and aws_secret_access_key into a [${profile}] section of the credentials file`;
  }
  return undefined;
}

/**
 * The profile's `mfa_serial`, from the AWS config file (`[profile NAME]`, or `[default]`) or, failing
 * that, from the profile's section of the credentials file. `undefined` when MFA is not configured.
 *
 * @example
 * ```ts
 * await mfaSerialFor("me", process.env, "/home/me/.aws/credentials"); // "arn:aws:iam::123456789012:mfa/me"
 * ```
 */
export async function mfaSerialFor(profile: string, env: NodeJS.ProcessEnv, credentialsPath: string): Promise<string | undefined> {
  const configPath = env.AWS_CONFIG_FILE ?? join(env.HOME ?? homedir(), ".aws", "config");
  for (const [path, section] of [
    [configPath, profile === "default" ? "default" : `profile ${profile}`],
    [credentialsPath, profile],
  ] as const) {
    let sections: Record<string, unknown>;
    try {
      sections = parse(await readFile(path, "utf8"));
    } catch {
      continue;
    }
    const found = sections[section] as Record<string, unknown> | undefined;
    const serial = found && Object.entries(found).find(([k]) => k.toLowerCase() === "mfa_serial")?.[1];
    if (typeof serial === "string" && serial.trim() !== "") return serial.trim();
  }
  return undefined;
}

/**
 * The profile's `region` from the AWS config file (`$AWS_CONFIG_FILE`, else `~/.aws/config`;
 * `[profile NAME]`, or `[default]`), as the AWS CLI reads it when neither `--region` nor
 * `AWS_REGION`/`AWS_DEFAULT_REGION` says. `undefined` when the file or the setting is missing.
 *
 * @example
 * ```ts
 * await regionFor("me", process.env); // "eu-west-1"
 * ```
 */
export async function regionFor(profile: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const path = env.AWS_CONFIG_FILE ?? join(env.HOME ?? homedir(), ".aws", "config");
  let sections: Record<string, unknown>;
  try {
    sections = parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
  const section = (profile === "default" ? (sections.default ?? sections["profile default"]) : sections[`profile ${profile}`]) as
    | Record<string, unknown>
    | undefined;
  const region = section && Object.entries(section).find(([k]) => k.toLowerCase() === "region")?.[1];
  return typeof region === "string" && region.trim() !== "" ? region.trim() : undefined;
}

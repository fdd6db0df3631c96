import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse } from "ini";

/**
 * When a profile is missing from the credentials file, looks for it in the AWS config file
 * (`$AWS_CONFIG_FILE`, else `~/.aws/config`) and says when it keeps static keys there, in the file
 * keyup does not edit. (Role, SSO and `credential_process` profiles never get here: `resolveProfile`
 * follows or refuses them first.) Reading only, with the `ini` parser.
 *
 * @example
 * ```ts
 * await explainProfile("deploy", process.env);
 * // "profile deploy in /home/me/.aws/config holds a static key; keyup edits the credentials file, so move …"
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
  const where = `profile ${profile} in ${path}`;
  if (has("aws_access_key_id")) {
    return `${where} holds a static key; keyup edits the credentials file, so move aws_access_key_id and aws_secret_access_key into a [${profile}] section of the credentials file`;
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

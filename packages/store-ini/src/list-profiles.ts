import { tokenize } from "./_internal/ini-lines.js";
import { ACCESS_KEY_ID } from "./_internal/profile.js";

const SESSION_TOKEN = "aws_session_token";

/**
 * Options for {@link listProfiles}.
 *
 * @example
 * ```ts
 * const options: ListProfilesOptions = { holdingKey: true };
 * ```
 */
export interface ListProfilesOptions {
  /**
   * Only profiles that set `aws_access_key_id` and no `aws_session_token`: those holding a long-term
   * key keyup could rotate (temporary credentials cannot be). Default `false`: every profile.
   */
  readonly holdingKey?: boolean;
}

/**
 * The profile names of a shared credentials file's text, in file order, each once, read with the same
 * tokenizer the INI store reads and edits with (`[ ci ]` names `ci`, a BOM and CRLF are understood,
 * key names match case-insensitively). One pass over the text, so it stays fast on files with tens
 * of thousands of profiles. Pure: it does no I/O and never throws on odd content (a profile given
 * twice is listed once; `readProfile` then refuses it).
 *
 * @param text - The whole file's text.
 * @param options - `holdingKey: true` for only the profiles holding a long-term key.
 * @returns The profile names.
 *
 * @example
 * ```ts
 * import { listProfiles } from "@keyup/store-ini";
 *
 * const text = "[default]\naws_access_key_id = AKIA…\naws_secret_access_key = …\n[sso]\nsso_session = corp\n";
 * listProfiles(text); // ["default", "sso"]
 * listProfiles(text, { holdingKey: true }); // ["default"]
 * ```
 */
export function listProfiles(text: string, options: ListProfilesOptions = {}): string[] {
  const profiles = new Map<string, { key: boolean; token: boolean }>();
  let current: { key: boolean; token: boolean } | undefined;
  const ini = tokenize(text);
  for (let index = 0; index < ini.lineCount; index++) {
    const line = ini.line(index);
    if (line.kind === "section") {
      current = profiles.get(line.name) ?? { key: false, token: false };
      profiles.set(line.name, current);
    } else if (line.kind === "key" && current) {
      const name = line.key.toLowerCase();
      if (name === ACCESS_KEY_ID) current.key = true;
      else if (name === SESSION_TOKEN) current.token = true;
    }
  }
  const names = [...profiles.entries()];
  return (options.holdingKey ? names.filter(([, seen]) => seen.key && !seen.token) : names).map(([name]) => name);
}

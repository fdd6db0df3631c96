import { type AccessKeyPair, createStoreError } from "@keyup/core";
import { type KeyLine, keyValue, type TokenizedIni, tokenize } from "./ini-lines.js";

export const ACCESS_KEY_ID = "aws_access_key_id";
export const SECRET_ACCESS_KEY = "aws_secret_access_key";

/** One `name = value` of the profile, with the lines it spans (continuation lines included). */
export interface ProfileEntry {
  readonly line: KeyLine;
  readonly lineIndex: number;
  readonly lastLineIndex: number;
  /** Lowercased key name: the AWS CLI lowercases option names, so matching is case-insensitive. */
  readonly name: string;
  readonly value: string;
  /** True when indented lines follow, which the AWS CLI reads as part of this value. */
  readonly continued: boolean;
}

export type ProfileView =
  | { readonly kind: "missing"; readonly ini: TokenizedIni; readonly profiles: readonly string[] }
  | {
      readonly kind: "present";
      readonly ini: TokenizedIni;
      readonly headerIndex: number;
      readonly entries: readonly ProfileEntry[];
    };

/**
 * Finds `profile` in `text` and refuses what would make our edit or our reading ambiguous:
 * the profile twice, a key twice, or one of our keys continued over several lines.
 * `where` completes messages (for example ` in /home/me/.aws/credentials`); it never holds a value.
 * `ini` is `text` tokenized, for a caller looking up several profiles of one text.
 */
export function viewProfile(text: string, profile: string, where: string, ini: TokenizedIni = tokenize(text)): ProfileView {
  const headers = ini.sectionsNamed(profile).map(({ index }) => index);
  const [headerIndex, second] = headers;
  if (headerIndex === undefined) {
    return {
      kind: "missing",
      ini,
      // Listed only for a message: every header is classified then, not when the profile is found.
      get profiles() {
        // A Set keeps first-seen order without a quadratic search: files with 20,000 profiles exist.
        return [...new Set(ini.sections.map(({ line }) => line.name))];
      },
    };
  }
  if (second !== undefined) {
    throw createStoreError(
      "EINVALID",
      `profile ${quote(profile)}${where} appears ${headers.length} times (lines ${headers.map((i) => i + 1).join(", ")}): refusing to guess which one holds the key`,
    );
  }

  const entries: ProfileEntry[] = [];
  let current: { line: KeyLine; lineIndex: number; lastLineIndex: number; continued: boolean } | undefined;
  const flush = (): void => {
    if (!current) return;
    entries.push({ ...current, name: current.line.key.toLowerCase(), value: keyValue(text, current.line) });
    current = undefined;
  };
  for (let index = headerIndex + 1; index < ini.lineCount; index++) {
    const line = ini.line(index);
    if (line.kind === "section") break;
    if (line.kind === "blank" || line.kind === "comment") continue;
    if (current && line.indent > current.line.indent) {
      current.continued = true;
      current.lastLineIndex = index;
      continue;
    }
    flush();
    if (line.kind === "key") current = { line, lineIndex: index, lastLineIndex: index, continued: false };
  }
  flush();

  const seen = new Map<string, ProfileEntry>();
  for (const entry of entries) {
    const earlier = seen.get(entry.name);
    if (earlier) {
      throw createStoreError(
        "EINVALID",
        `profile ${quote(profile)}${where} sets ${entry.name} twice (lines ${earlier.lineIndex + 1} and ${entry.lineIndex + 1}): refusing to guess which one counts`,
      );
    }
    seen.set(entry.name, entry);
    if (entry.continued && (entry.name === ACCESS_KEY_ID || entry.name === SECRET_ACCESS_KEY)) {
      throw createStoreError(
        "EINVALID",
        `profile ${quote(profile)}${where}: ${entry.name} on line ${entry.lineIndex + 1} is followed by more-indented lines, which the AWS CLI reads as part of its value; align the indentation of the profile's lines`,
      );
    }
  }
  return { kind: "present", ini, headerIndex, entries };
}

const TEMPORARY = ["aws_session_token", "aws_security_token"];
const NOT_A_USER_KEY = ["role_arn", "source_profile", "credential_source", "credential_process", "web_identity_token_file"];

/**
 * The key a present profile holds, or `undefined` when it holds none; throws when the profile holds
 * something keyup must not rotate or only half a key.
 */
export function heldKey(view: ProfileView & { kind: "present" }, profile: string, where: string): AccessKeyPair | undefined {
  const value = (name: string): string | undefined => {
    const found = view.entries.find((entry) => entry.name === name)?.value;
    return found === "" ? undefined : found;
  };
  const temporary = TEMPORARY.find((name) => value(name) !== undefined);
  if (temporary) {
    throw createStoreError("EUNSUPPORTED", `profile ${quote(profile)}${where} holds ${temporary}: temporary credentials cannot be rotated`);
  }
  const indirect = view.entries.find((entry) => NOT_A_USER_KEY.includes(entry.name) || entry.name.startsWith("sso_"));
  if (indirect) {
    const source = value("source_profile");
    const hint = source === undefined ? "" : `; rotate the key of its source_profile ${quote(source)} instead`;
    throw createStoreError("EUNSUPPORTED", `profile ${quote(profile)}${where} uses ${indirect.name}, so it does not hold an IAM user's access key${hint}`);
  }
  const accessKeyId = value(ACCESS_KEY_ID);
  const secretAccessKey = value(SECRET_ACCESS_KEY);
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const [has, lacks] = accessKeyId === undefined ? [SECRET_ACCESS_KEY, ACCESS_KEY_ID] : [ACCESS_KEY_ID, SECRET_ACCESS_KEY];
    throw createStoreError("EINVALID", `profile ${quote(profile)}${where} sets ${has} but no ${lacks}`);
  }
  return { accessKeyId, secretAccessKey };
}

/** Quotes a profile name for messages; names are safe to print, quotes show stray spaces. */
export function quote(name: string): string {
  return JSON.stringify(name);
}

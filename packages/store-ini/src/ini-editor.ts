import { type AccessKeyPair, createStoreError, isAccessKeyPair } from "@keyup/core";
import { quote, viewProfile } from "./_internal/profile.js";
import { checkProfileName, keyIn, setValues } from "./_internal/profile-edit.js";

/**
 * Reads the access key a profile holds from the text of a shared credentials file, without touching
 * any file. Key names match case-insensitively; a UTF-8 BOM, CRLF line endings, tabs, spaces around
 * `=`, `[ profile ]` spacing and inline comments (whitespace then `#` or `;`) are understood.
 *
 * @param text - The whole file's text.
 * @param profile - The section name, such as `default`.
 * @returns The key, or `undefined` when the profile exists but holds no key values.
 * @throws A store error (`createStoreError`) with code `ENOTFOUND` (no such profile; the message lists
 *   the profiles that exist), `EUNSUPPORTED` (temporary credentials, a role, SSO or `credential_process`
 *   profile), or `EINVALID` (the profile or one of its keys appears twice, or only half a key is set).
 *   Messages never contain a secret.
 *
 * @example
 * ```ts
 * import { readProfile } from "@keyup/store-ini";
 *
 * const key = readProfile("[ci]\naws_access_key_id = AKIA…\naws_secret_access_key = …\n", "ci");
 * console.log(key?.accessKeyId);
 * ```
 */
export function readProfile(text: string, profile: string): AccessKeyPair | undefined {
  return keyIn(viewProfile(text, profile, ""), profile, "");
}

/**
 * Sets the two key values of `profile` in the text of a shared credentials file and returns the new
 * text. Pure: it does no I/O. The edit is surgical: only the two values change, and every other byte
 * stays as it was (comments, blank lines, key order and spelling, spacing around `=`, inline comments,
 * other profiles and keys, CRLF line endings, a missing final newline, a BOM).
 *
 * A key the profile lacks is inserted right after the profile's last key line (or its header), with
 * the file's own line ending; a missing profile is appended as a new section. Setting the values a
 * profile already holds returns `text` unchanged.
 *
 * @param text - The whole file's text (`""` for a file that does not exist yet).
 * @param profile - The section name, such as `default`.
 * @param key - The new key; it must pass `isAccessKeyPair`.
 * @returns The edited text.
 * @throws A store error with code `EBADKEY` (not an access key pair) or `EINVALID` (the profile or one
 *   of its keys appears twice, or a key's value continues over several lines). Never contains a secret.
 *
 * @example
 * ```ts
 * import { editProfile } from "@keyup/store-ini";
 *
 * const before = "# mine\n[ci]\nregion = eu-west-1\naws_access_key_id = AKIAOLD…\naws_secret_access_key = old…\n";
 * const after = editProfile(before, "ci", { accessKeyId: "AKIANEW…", secretAccessKey: "new…" });
 * // "# mine\n[ci]\nregion = eu-west-1\naws_access_key_id = AKIANEW…\naws_secret_access_key = new…\n"
 * ```
 */
export function editProfile(text: string, profile: string, key: AccessKeyPair): string {
  if (!isAccessKeyPair(key)) {
    throw createStoreError("EBADKEY", `refusing to write a value that is not an access key pair into profile ${quote(profile)}`);
  }
  checkProfileName(profile);
  return setValues(viewProfile(text, profile, ""), profile, key);
}

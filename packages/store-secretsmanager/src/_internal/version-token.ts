import { createHash } from "node:crypto";

/**
 * A ClientRequestToken (which becomes the new version's id) derived from what a write is: this key
 * id, written over this version of this secret. A retried write sends the same token, so Secrets
 * Manager adds no second version. Shaped as a UUID (36 characters, inside the 32–64 the API
 * allows) with RFC 9562's "custom" version 8, so it reads like the ids Secrets Manager makes.
 */
export function writeToken(secretId: string, fromVersionId: string, accessKeyId: string): string {
  const hex = createHash("sha256").update(`keyup-write\0${secretId}\0${fromVersionId}\0${accessKeyId}`).digest("hex");
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

import sodium from "libsodium-wrappers";

/**
 * `value` encrypted for GitHub as its REST API documents for secrets: a libsodium sealed box
 * (`crypto_box_seal`) to the repository's, environment's or organisation's public key, base64.
 * Only GitHub, holding the private key, can open it.
 */
export async function sealForGithub(value: string, publicKeyBase64: string): Promise<string> {
  await sodium.ready;
  const sealed = sodium.crypto_box_seal(Buffer.from(value, "utf8"), Buffer.from(publicKeyBase64, "base64"));
  return Buffer.from(sealed).toString("base64");
}

import { randomInt } from "node:crypto";
import type { AccessKeyPair } from "@keyup/core";

const UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomFrom(alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/**
 * A random alphanumeric run long enough that finding it anywhere can only mean a leak. Build
 * malformed secrets for bad-input tests from it.
 *
 * @example
 * ```ts
 * const badSecret = `${secretPiece()}\n${secretPiece()}`;
 * ```
 */
export function secretPiece(length = 16): string {
  return randomFrom(ALNUM, length);
}

/**
 * A random, well-formed, fake access key pair (never valid at AWS). Each call gives a new secret,
 * so a test can search output for exactly that secret.
 *
 * @example
 * ```ts
 * const key = fakeAccessKeyPair();
 * await store.write(key);
 * expect(findSecretLeaks(error, [key.secretAccessKey])).toEqual([]);
 * ```
 */
export function fakeAccessKeyPair(): AccessKeyPair {
  return {
    accessKeyId: `AKIA${randomFrom(UPPER_DIGITS, 16)}`,
    // Shaped like a real secret (40 chars with a slash); both halves are long enough for leak search.
    secretAccessKey: `${secretPiece(20)}/${secretPiece(19)}`,
  };
}

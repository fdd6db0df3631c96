/**
 * The bytes behind the last few large ASCII texts the files kit decoded or put together, so that the
 * text edited and written next need not be encoded again: in a store cycle over a 3 MiB file, the
 * decoded text is spliced (each slice encoded back to bytes) and the edited text encoded once more
 * to be compared and written, two full copies where the bytes were already at hand.
 *
 * Only ASCII texts are kept: each of their characters is one byte, in UTF-8 as in Latin-1, so the
 * bytes are exactly `Buffer.from(text)` and an offset into the text is an offset into the bytes. A
 * text is found by `===` (the same string object in practice; an equal copy gives equal bytes too).
 * Neither side is ever modified: the buffers are the files' bytes as read or as written.
 */
const known: { readonly text: string; readonly bytes: Buffer }[] = [];
// The file decoded and its edit, and one more for a fleet's next profile: a few entries, never more.
const KEEP = 3;
// Below this a text is encoded in microseconds: not worth an entry.
const WORTH = 64 * 1024;

/**
 * Remembers that `text` is the ASCII text of `bytes` (the caller has checked they are ASCII).
 *
 * @example
 * ```ts
 * if (isAscii(bytes)) rememberAsciiBytes(bytes.toString("latin1"), bytes);
 * ```
 */
export function rememberAsciiBytes(text: string, bytes: Buffer): void {
  if (text.length < WORTH) return;
  if (known.some((entry) => entry.bytes === bytes)) return;
  known.unshift({ text, bytes });
  known.length = Math.min(known.length, KEEP);
}

/**
 * The bytes of `text` when it is an ASCII text remembered by {@link rememberAsciiBytes}, else `undefined`.
 *
 * @example
 * ```ts
 * const bytes = asciiBytesOf(text) ?? Buffer.from(text);
 * ```
 */
export function asciiBytesOf(text: string): Buffer | undefined {
  if (text.length < WORTH) return undefined;
  // Lengths first: comparing two different strings of one length reads them both.
  return known.find((entry) => entry.text.length === text.length && entry.text === text)?.bytes;
}

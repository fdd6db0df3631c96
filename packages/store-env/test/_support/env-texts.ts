import fc from "fast-check";

// Pieces that the rule treats specially, to combine at random: every branch of the rule is one of
// these (quotes opened and not closed, escaped quotes, `\\` before a quote, `export` with and
// without a blank after it, both separators, comments, each line ending, the blanks `\s` takes
// beyond ASCII, characters outside the BMP).
const piece = fc.constantFrom(
  "A",
  "b",
  "KEY",
  "_",
  ".",
  "-",
  "1",
  "export",
  "export ",
  "exporter",
  " ",
  "  ",
  "\t",
  "\v",
  "\f",
  "\u00a0",
  "\ufeff",
  "\u2000",
  "\u3000",
  "\n",
  "\r",
  "\r\n",
  "\u2028",
  "\u2029",
  "=",
  " = ",
  ":",
  ": ",
  "#",
  " # c",
  "'",
  '"',
  "`",
  "\\",
  "\\'",
  '\\"',
  "\\`",
  "\\\\'",
  "x y",
  "$",
  "é",
  "🙂",
);
/** Texts made of those pieces: mostly not .env files at all, which is the point. */
export const adversarial = fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(""));

// Lines shaped like assignments, with the odd parts mixed in, joined by any line ending.
const line = fc
  .tuple(
    fc.constantFrom("", " ", "\t", "  "),
    fc.constantFrom("", "export ", "export\t", "export"),
    fc.constantFrom("A", "KEY_1", "a.b-c", "export", ""),
    fc.constantFrom("=", " = ", ": ", ":", " =", "=\t", ":\n", "=\n", ""),
    fc.constantFrom("", "v", " v w ", "'q'", '"d"', "`b`", "'open", '"open', "`open", "'a\\'b'", '"a\\"b"', "`a\\`b`", '"x\\"', "'m\nl'", '"m\r\nl"', "$X"),
    fc.constantFrom("", " ", " # c", "#c", "  #", "x", "'"),
  )
  .map((parts) => parts.join(""));
/** .env-like texts: assignment lines with odd parts, joined by `\n`, `\r\n`, `\r` or U+2028. */
export const lines = fc
  .tuple(fc.array(line, { maxLength: 12 }), fc.constantFrom("\n", "\r\n", "\r", "\u2028"), fc.boolean())
  .map(([all, eol, last]) => all.join(eol) + (last ? eol : ""));

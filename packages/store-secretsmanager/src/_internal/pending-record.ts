// The journal of createSecret: a tag on the secret itself, written before CreateAccessKey and removed
// once PutSecretValue has stored the new key as AWSPENDING. Between the two, the new key is named by
// no version; the tag is what lets a later invocation tell that key (created by keyup, never handed to
// anyone) from a key someone else made, and delete it.
//
// Why a tag on the secret, and not elsewhere:
// - it is the resource this rotation is about: it lives and dies with the secret, every step already
//   reads it (DescribeSecret answers with the tags, so reading the journal costs no call), and the
//   function's role needs only TagResource/UntagResource on this one secret;
// - a tag on the IAM user would need iam:TagUser for the key in the secret (more power for the
//   rotated user) and a second read per step; a companion secret or table is another resource to
//   deploy, pay for and clean up;
// - tags hold no secret and are not versions, so the journal never shows up as a value.
//
// The value holds no secret: `until=<epoch ms> before=<key id>+<key id> token=<token>`.

/** The prefix of the journal tags; the rest of the key is an id of the invocation that wrote it. */
export const RECORD_PREFIX = "keyup:pending:";

/** One journal entry: an invocation of createSecret that is (or was) between tag and PutSecretValue. */
export interface PendingRecord {
  /** The tag's key, to remove it. */
  readonly tagKey: string;
  /** The rotation's token, when it fits in a tag value. */
  readonly token: string | undefined;
  /** Epoch ms after which the invocation that wrote it cannot still be running. */
  readonly until: number;
  /** The user's key ids when the record was written: none of them is a key this invocation made. */
  readonly before: readonly string[];
}

// What AWS allows in a tag value (letters, digits, spaces and _ . : / = + - @).
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** The tag value of a record (at most 256 characters: two key ids, a time and a token of up to 64). */
export function recordValue(record: Omit<PendingRecord, "tagKey">): string {
  const token = record.token !== undefined && TAG_VALUE.test(record.token) ? ` token=${record.token}` : "";
  return `until=${Math.ceil(record.until)} before=${record.before.join("+")}${token}`;
}

/** The records among a secret's tags. A tag with our prefix that does not parse is ignored. */
export function recordsIn(tags: ReadonlyMap<string, string>): PendingRecord[] {
  const records: PendingRecord[] = [];
  for (const [tagKey, value] of tags) {
    if (!tagKey.startsWith(RECORD_PREFIX)) continue;
    const fields = new Map(value.split(" ").map((part) => [part.slice(0, part.indexOf("=")), part.slice(part.indexOf("=") + 1)] as const));
    const until = Number(fields.get("until"));
    const before = fields.get("before");
    if (!Number.isFinite(until) || before === undefined) continue;
    records.push({ tagKey, token: fields.get("token"), until, before: before === "" ? [] : before.split("+") });
  }
  return records;
}

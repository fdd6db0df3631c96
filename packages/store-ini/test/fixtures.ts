import type { AccessKeyPair } from "@keyup/core";

/**
 * Credentials files and what an edit must turn them into. `after` is written out by hand for every
 * fixture, so a test compares whole files byte for byte: any byte the editor changes besides the two
 * values fails it.
 */
export interface EditFixture {
  readonly name: string;
  readonly profile: string;
  readonly before: string;
  readonly after: (key: AccessKeyPair) => string;
  /** The key the profile holds before, or undefined when it holds none. */
  readonly held: AccessKeyPair | undefined;
  /** The profile is not in `before` at all. */
  readonly missing: boolean;
  /**
   * Read back with the real AWS CLI v1. Off where it reads a file differently (a BOM is a parse error,
   * inline comments on our keys stay in the value, `[ x ]` names " x "), and elsewhere only to keep
   * the suite fast: one CLI run costs about half a second of CPU.
   */
  readonly cli: boolean;
  /** The SDK's fromIni reads it (it matches key names case-sensitively, and names `[ x ]` " x "). */
  readonly sdk: boolean;
  /** The `ini` package reads it (it takes a header followed by a comment for a key). */
  readonly iniPackage: boolean;
}

export const OLD: AccessKeyPair = {
  accessKeyId: "AKIAOLDOLDOLDOLD0001",
  secretAccessKey: "0ldSecret/+abcdefghijklmnopqrstuvwxyz0123",
};
const OTHER: AccessKeyPair = {
  accessKeyId: "AKIAOTHEROTHER000002",
  secretAccessKey: "0therSecret+/ABCDEFGHIJKLMNOPQRSTUVWXYZ01",
};

/** A fixture whose profile holds a key: before and after come from one template. */
function replacing(
  name: string,
  template: (key: AccessKeyPair) => string,
  options: { profile?: string; cli?: boolean; sdk?: boolean; iniPackage?: boolean } = {},
): EditFixture {
  return {
    name,
    profile: options.profile ?? "ci",
    before: template(OLD),
    after: template,
    held: OLD,
    missing: false,
    cli: options.cli ?? false,
    sdk: options.sdk ?? true,
    iniPackage: options.iniPackage ?? true,
  };
}

function inserting(
  name: string,
  before: string,
  after: (key: AccessKeyPair) => string,
  options: { profile?: string; cli?: boolean; sdk?: boolean; iniPackage?: boolean; missing?: boolean } = {},
): EditFixture {
  return {
    name,
    profile: options.profile ?? "ci",
    before,
    after,
    held: undefined,
    missing: options.missing ?? false,
    cli: options.cli ?? false,
    sdk: options.sdk ?? true,
    iniPackage: options.iniPackage ?? true,
  };
}

const crlf = (text: string): string => text.replace(/\n/g, "\r\n");

const commented = (k: AccessKeyPair): string => `# AWS credentials
; managed by hand

[default]
aws_access_key_id = ${OTHER.accessKeyId}
aws_secret_access_key = ${OTHER.secretAccessKey}
region = us-east-1

[ci]
# the CI user
aws_access_key_id = ${k.accessKeyId}
; rotated quarterly
aws_secret_access_key = ${k.secretAccessKey}
region = eu-west-1

[prod]
aws_access_key_id = AKIAPROD000000000003
aws_secret_access_key = ${OTHER.secretAccessKey}
`;

export const FIXTURES: readonly EditFixture[] = [
  replacing("comments with # and ;, blank lines, other profiles, region", commented, { cli: true }),
  replacing("CRLF line endings", (k) => crlf(commented(k))),
  replacing(
    "no final newline",
    (k) => `[default]\nregion = us-east-1\n\n[ci]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}`,
  ),
  replacing(
    "tabs: indented keys, tabs around =, trailing tab",
    (k) => `[ci]\n\taws_access_key_id\t=\t${k.accessKeyId}\n\taws_secret_access_key\t= ${k.secretAccessKey}\t\n\tregion=us-east-1\n`,
    { cli: true },
  ),
  replacing("no spaces around =", (k) => `[ci]\naws_access_key_id=${k.accessKeyId}\naws_secret_access_key=${k.secretAccessKey}\n`),
  replacing(
    "aligned = with many spaces, keys indented by spaces",
    (k) => `[ci]\n  aws_access_key_id     =   ${k.accessKeyId}\n  aws_secret_access_key =   ${k.secretAccessKey}\n  region                =   eu-west-1\n`,
  ),
  replacing("UTF-8 BOM with CRLF", (k) => `\uFEFF[ci]\r\naws_access_key_id = ${k.accessKeyId}\r\naws_secret_access_key = ${k.secretAccessKey}\r\n`),
  replacing(
    "upper- and mixed-case key names keep their spelling",
    (k) => `[ci]\nAWS_ACCESS_KEY_ID = ${k.accessKeyId}\nAws_Secret_Access_Key = ${k.secretAccessKey}\n`,
    { cli: true, sdk: false },
  ),
  replacing(
    "inline comments after the values",
    (k) =>
      `[ci]\naws_access_key_id = ${k.accessKeyId} # old key, rotate soon\naws_secret_access_key = ${k.secretAccessKey}\t; see the vault\nregion = eu-west-1 # Ireland\n`,
  ),
  replacing(
    "[ profile ] spacing",
    (k) =>
      `[ default ]\naws_access_key_id = ${OTHER.accessKeyId}\naws_secret_access_key = ${OTHER.secretAccessKey}\n\n[ ci ]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`,
    { sdk: false },
  ),
  replacing(
    "a comment after the section header",
    (k) => `[default]\nregion = x\n[ci]   # CI user\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`,
    { iniPackage: false },
  ),
  replacing(
    "secret before id, region between",
    (k) => `[ci]\naws_secret_access_key = ${k.secretAccessKey}\nregion = eu-west-1\naws_access_key_id = ${k.accessKeyId}\noutput = json\n`,
  ),
  replacing(
    "profiles whose names share a prefix stay untouched",
    (k) =>
      `[ci-old]\naws_access_key_id = ${OTHER.accessKeyId}\naws_secret_access_key = ${OTHER.secretAccessKey}\n[ci]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n[cix]\naws_access_key_id = ${OTHER.accessKeyId}\naws_secret_access_key = ${OTHER.secretAccessKey}\n`,
  ),
  replacing(
    "nested settings with continuation lines stay as they are",
    (k) =>
      `[ci]\ns3 =\n  max_concurrent_requests = 20\n  signature_version = s3v4\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`,
    { cli: true },
  ),
  replacing(
    "non-ASCII comments",
    (k) => `# clé d’accès ☃ — 日本語\n[ci]\n; über\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`,
  ),
  replacing(
    "profile named default, last in the file",
    (k) => `[other]\nregion = us-west-2\n\n[default]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`,
    { profile: "default" },
  ),
  inserting(
    "profile without keys: inserted after its last key line",
    "[default]\nregion = us-east-1\n\n[ci]\nregion = eu-west-1\noutput = json\n\n# the end\n[other]\nregion = x\n",
    (k) =>
      `[default]\nregion = us-east-1\n\n[ci]\nregion = eu-west-1\noutput = json\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n\n# the end\n[other]\nregion = x\n`,
  ),
  inserting(
    "inserted lines copy CRLF, indentation and = spacing",
    "[ci]\r\n\tregion\t=\teu-west-1\r\n# trailing comment\r\n",
    (k) =>
      `[ci]\r\n\tregion\t=\teu-west-1\r\n\taws_access_key_id\t=\t${k.accessKeyId}\r\n\taws_secret_access_key\t=\t${k.secretAccessKey}\r\n# trailing comment\r\n`,
    { cli: true },
  ),
  inserting(
    "header only, no final newline",
    "[default]\nregion=x\n\n[ci]",
    (k) => `[default]\nregion=x\n\n[ci]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}`,
  ),
  inserting(
    "inserted after a multi-line value, not inside it",
    "[ci]\nregion = x\ns3 =\n  max_concurrent_requests = 20\n",
    (k) => `[ci]\nregion = x\ns3 =\n  max_concurrent_requests = 20\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`,
    { cli: true },
  ),
  inserting(
    "empty values are filled in, inline comment kept",
    "[ci]\naws_access_key_id =\naws_secret_access_key = # paste here\n",
    (k) => `[ci]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey} # paste here\n`,
  ),
  inserting(
    "missing profile appended to a file without final newline",
    `[default]\naws_access_key_id = ${OTHER.accessKeyId}\naws_secret_access_key = ${OTHER.secretAccessKey}`,
    (k) =>
      `[default]\naws_access_key_id = ${OTHER.accessKeyId}\naws_secret_access_key = ${OTHER.secretAccessKey}\n\n[ci]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`,
    { cli: true, missing: true },
  ),
  inserting(
    "missing profile appended after a trailing blank line",
    "[default]\nregion = us-east-1\n\n",
    (k) => `[default]\nregion = us-east-1\n\n[ci]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`,
    { missing: true },
  ),
  inserting(
    "missing profile appended with CRLF",
    "[default]\r\nregion = us-east-1\r\n",
    (k) => `[default]\r\nregion = us-east-1\r\n\r\n[ci]\r\naws_access_key_id = ${k.accessKeyId}\r\naws_secret_access_key = ${k.secretAccessKey}\r\n`,
    { missing: true },
  ),
  inserting(
    "missing profile appended: BOM, CRLF, no final newline",
    "\uFEFF[default]\r\nregion = us-east-1",
    (k) => `\uFEFF[default]\r\nregion = us-east-1\r\n\r\n[ci]\r\naws_access_key_id = ${k.accessKeyId}\r\naws_secret_access_key = ${k.secretAccessKey}\r\n`,
    { missing: true },
  ),
  inserting("empty file", "", (k) => `[ci]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`, {
    missing: true,
  }),
];

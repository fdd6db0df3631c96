import type { AccessKeyPair } from "@keyup/core";

export const OLD: AccessKeyPair = { accessKeyId: "AKIAOLDOLDOLDOLD0001", secretAccessKey: "oldSecret/00000000000000000000000000000a" };

export interface EditorFixture {
  readonly title: string;
  readonly before: string;
  /** The exact text expected after setting `key`. */
  readonly after: (key: AccessKeyPair) => string;
}

const I = OLD.accessKeyId;
const S = OLD.secretAccessKey;

/** .env texts, and what writing a new key must turn each into, byte for byte. */
export const editorFixtures: readonly EditorFixture[] = [
  {
    title: "plain LF",
    before: `AWS_ACCESS_KEY_ID=${I}\nAWS_SECRET_ACCESS_KEY=${S}\n`,
    after: (k) => `AWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\n`,
  },
  {
    title: "CRLF with comments, blank lines and other variables around",
    before: `# app\r\n\r\nPORT=3000\r\nAWS_ACCESS_KEY_ID=${I}\r\n\r\n# the secret\r\nAWS_SECRET_ACCESS_KEY=${S}\r\nDEBUG=true\r\n`,
    after: (k) =>
      `# app\r\n\r\nPORT=3000\r\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\r\n\r\n# the secret\r\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\r\nDEBUG=true\r\n`,
  },
  {
    title: "export prefixes (one with extra spaces)",
    before: `export AWS_ACCESS_KEY_ID=${I}\nexport   AWS_SECRET_ACCESS_KEY=${S}\n`,
    after: (k) => `export AWS_ACCESS_KEY_ID=${k.accessKeyId}\nexport   AWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\n`,
  },
  {
    title: "double quotes",
    before: `AWS_ACCESS_KEY_ID="${I}"\nAWS_SECRET_ACCESS_KEY="${S}"\n`,
    after: (k) => `AWS_ACCESS_KEY_ID="${k.accessKeyId}"\nAWS_SECRET_ACCESS_KEY="${k.secretAccessKey}"\n`,
  },
  {
    title: "single quotes",
    before: `AWS_ACCESS_KEY_ID='${I}'\nAWS_SECRET_ACCESS_KEY='${S}'\n`,
    after: (k) => `AWS_ACCESS_KEY_ID='${k.accessKeyId}'\nAWS_SECRET_ACCESS_KEY='${k.secretAccessKey}'\n`,
  },
  {
    title: "backticks",
    before: `AWS_ACCESS_KEY_ID=\`${I}\`\nAWS_SECRET_ACCESS_KEY=\`${S}\`\n`,
    after: (k) => `AWS_ACCESS_KEY_ID=\`${k.accessKeyId}\`\nAWS_SECRET_ACCESS_KEY=\`${k.secretAccessKey}\`\n`,
  },
  {
    title: "a different quote style on each",
    before: `AWS_ACCESS_KEY_ID="${I}"\nAWS_SECRET_ACCESS_KEY=${S}\n`,
    after: (k) => `AWS_ACCESS_KEY_ID="${k.accessKeyId}"\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\n`,
  },
  {
    title: "spaces around =",
    before: `AWS_ACCESS_KEY_ID = ${I}\nAWS_SECRET_ACCESS_KEY   =   "${S}"\n`,
    after: (k) => `AWS_ACCESS_KEY_ID = ${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY   =   "${k.secretAccessKey}"\n`,
  },
  {
    title: "inline comments after unquoted and quoted values",
    before: `AWS_ACCESS_KEY_ID=${I}   # prod key\nAWS_SECRET_ACCESS_KEY='${S}' #rotated 2024-01-01\n`,
    after: (k) => `AWS_ACCESS_KEY_ID=${k.accessKeyId}   # prod key\nAWS_SECRET_ACCESS_KEY='${k.secretAccessKey}' #rotated 2024-01-01\n`,
  },
  {
    title: "trailing whitespace after the values",
    before: `AWS_ACCESS_KEY_ID=${I}  \nAWS_SECRET_ACCESS_KEY="${S}"\t\n`,
    after: (k) => `AWS_ACCESS_KEY_ID=${k.accessKeyId}  \nAWS_SECRET_ACCESS_KEY="${k.secretAccessKey}"\t\n`,
  },
  {
    title: "leading indentation",
    before: `  AWS_ACCESS_KEY_ID=${I}\n\tAWS_SECRET_ACCESS_KEY=${S}\n`,
    after: (k) => `  AWS_ACCESS_KEY_ID=${k.accessKeyId}\n\tAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\n`,
  },
  {
    title: "no final newline after our last variable",
    before: `AWS_ACCESS_KEY_ID=${I}\nAWS_SECRET_ACCESS_KEY=${S}`,
    after: (k) => `AWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}`,
  },
  {
    title: "secret first, id last, other variables between",
    before: `AWS_SECRET_ACCESS_KEY=${S}\nREGION=eu-west-1\nAWS_ACCESS_KEY_ID=${I}\n`,
    after: (k) => `AWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\nREGION=eu-west-1\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\n`,
  },
  {
    title: "an empty file",
    before: "",
    after: (k) => `AWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\n`,
  },
  {
    title: "both missing from an LF file: appended",
    before: "# app\nPORT=3000\n",
    after: (k) => `# app\nPORT=3000\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\n`,
  },
  {
    title: "both missing from a CRLF file: appended with CRLF",
    before: "# app\r\nPORT=3000\r\n",
    after: (k) => `# app\r\nPORT=3000\r\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\r\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\r\n`,
  },
  {
    title: "both missing from a file without a final newline: a line break first",
    before: "# app\r\nPORT=3000",
    after: (k) => `# app\r\nPORT=3000\r\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\r\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\r\n`,
  },
  {
    title: "both missing from a file with old-Mac CR line endings",
    before: "PORT=3000\rHOST=x\r",
    after: (k) => `PORT=3000\rHOST=x\rAWS_ACCESS_KEY_ID=${k.accessKeyId}\rAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\r`,
  },
  {
    title: "the secret missing: appended in the style of the id (export, spacing, quotes)",
    before: `export AWS_ACCESS_KEY_ID = "${I}" # ci\nPORT=1\n`,
    after: (k) => `export AWS_ACCESS_KEY_ID = "${k.accessKeyId}" # ci\nPORT=1\nexport AWS_SECRET_ACCESS_KEY = "${k.secretAccessKey}"\n`,
  },
  {
    title: "the id missing, file without final newline",
    before: `AWS_SECRET_ACCESS_KEY='${S}'`,
    after: (k) => `AWS_SECRET_ACCESS_KEY='${k.secretAccessKey}'\nAWS_ACCESS_KEY_ID='${k.accessKeyId}'\n`,
  },
  {
    title: "empty values are filled in place",
    before: "AWS_ACCESS_KEY_ID=\nAWS_SECRET_ACCESS_KEY=\nPORT=1\n",
    after: (k) => `AWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\nPORT=1\n`,
  },
  {
    title: "empty quoted values are filled inside their quotes",
    before: "AWS_ACCESS_KEY_ID=\"\"\nAWS_SECRET_ACCESS_KEY=''\n",
    after: (k) => `AWS_ACCESS_KEY_ID="${k.accessKeyId}"\nAWS_SECRET_ACCESS_KEY='${k.secretAccessKey}'\n`,
  },
  {
    title: "empty values followed by comments",
    before: "AWS_ACCESS_KEY_ID= # fill me\nAWS_SECRET_ACCESS_KEY=# and me\n",
    after: (k) => `AWS_ACCESS_KEY_ID=${k.accessKeyId} # fill me\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey} # and me\n`,
  },
  {
    title: "names in comments are not assignments",
    before: `# AWS_ACCESS_KEY_ID=commented-out\n#AWS_SECRET_ACCESS_KEY=old\nAWS_ACCESS_KEY_ID=${I}\nAWS_SECRET_ACCESS_KEY=${S}\n`,
    after: (k) =>
      `# AWS_ACCESS_KEY_ID=commented-out\n#AWS_SECRET_ACCESS_KEY=old\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\n`,
  },
  {
    title: "names inside another variable's multi-line quoted value are not assignments",
    before: `CERT="-----BEGIN\nAWS_ACCESS_KEY_ID=inside\n-----END"\nAWS_ACCESS_KEY_ID=${I}\nAWS_SECRET_ACCESS_KEY=${S}\n`,
    after: (k) => `CERT="-----BEGIN\nAWS_ACCESS_KEY_ID=inside\n-----END"\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\n`,
  },
  {
    title: "similar names are left alone",
    before: `MY_AWS_ACCESS_KEY_ID=a\nAWS_ACCESS_KEY_ID_OLD=b\nAWS_ACCESS_KEY_ID=${I}\nAWS_SECRET_ACCESS_KEY=${S}\nAWS_SECRET_ACCESS_KEY.bak=c\n`,
    after: (k) =>
      `MY_AWS_ACCESS_KEY_ID=a\nAWS_ACCESS_KEY_ID_OLD=b\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\nAWS_SECRET_ACCESS_KEY.bak=c\n`,
  },
  {
    title: "a UTF-8 byte order mark and non-ASCII values elsewhere",
    before: `\uFEFFGREETING="héllo wörld ✓"\nAWS_ACCESS_KEY_ID=${I}\nAWS_SECRET_ACCESS_KEY=${S}\nNAME='Zoë'\n`,
    after: (k) => `\uFEFFGREETING="héllo wörld ✓"\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\nNAME='Zoë'\n`,
  },
  {
    title: "the YAML-like NAME: value form dotenv also reads",
    before: `AWS_ACCESS_KEY_ID: ${I}\nAWS_SECRET_ACCESS_KEY: "${S}"\n`,
    after: (k) => `AWS_ACCESS_KEY_ID: ${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY: "${k.secretAccessKey}"\n`,
  },
  {
    title: "mixed line endings: an appended line uses the first one",
    before: "A=1\nB=2\r\nC=3\r\n",
    after: (k) => `A=1\nB=2\r\nC=3\r\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\n`,
  },
  {
    title: "escaped quotes, expansions and # inside other values",
    before: `A="say \\"hi\\""\nB='it\\'s'\nC=\${HOME}/x\nD="a # not a comment"\nAWS_ACCESS_KEY_ID=${I}\nAWS_SECRET_ACCESS_KEY=${S}\n`,
    after: (k) =>
      `A="say \\"hi\\""\nB='it\\'s'\nC=\${HOME}/x\nD="a # not a comment"\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\n`,
  },
  {
    title: "lines dotenv ignores stay as they are",
    before: `just some words\nexport\n=novalue\nAWS_ACCESS_KEY_ID=${I}\nAWS_SECRET_ACCESS_KEY=${S}\n[section]\n`,
    after: (k) => `just some words\nexport\n=novalue\nAWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\n[section]\n`,
  },
  {
    title: "the old value appearing elsewhere in the file is not touched",
    before: `AWS_ACCESS_KEY_ID=${I}\nAWS_SECRET_ACCESS_KEY=${S}\nBACKUP_KEY_ID=${I}\n# was ${I}\n`,
    after: (k) => `AWS_ACCESS_KEY_ID=${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${k.secretAccessKey}\nBACKUP_KEY_ID=${I}\n# was ${I}\n`,
  },
];

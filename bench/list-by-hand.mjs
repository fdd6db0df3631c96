// The hand-written equivalent of `keyup --profile p1 --operation list` that benchmark 5 times keyup
// against: the SDK's own profile loading, who am I, then the user's keys, one line each. No store, no
// lock, no formatting beyond a line per key. The SDK's default chain reads AWS_PROFILE and
// AWS_SHARED_CREDENTIALS_FILE. Run as `node list-by-hand.mjs ENDPOINT`.
import { IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

const [endpoint] = process.argv.slice(2);
const config = { region: "us-east-1", endpoint };
const me = await new STSClient(config).send(new GetCallerIdentityCommand({}));
const userName = me.Arn?.split("/").pop();
const out = await new IAMClient(config).send(new ListAccessKeysCommand({ UserName: userName }));
for (const key of out.AccessKeyMetadata ?? []) process.stdout.write(`${key.AccessKeyId}\t${key.Status}\n`);

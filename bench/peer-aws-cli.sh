#!/usr/bin/env bash
# What the popular bash rotators (rhyeal/aws-rotate-iam-keys and its kin) do, with the real `aws` CLI:
# create a key, `aws configure set` both values, wait until the new key works, delete the old one.
# Written here as the peer of benchmark 6 (the originals cannot be vendored). No lock, no backup, no
# rollback: a failure between the steps leaves two keys or a file holding a deleted one.
#
#   AWS_SHARED_CREDENTIALS_FILE=… AWS_CONFIG_FILE=… bench/peer-aws-cli.sh PROFILE ENDPOINT_URL
#
# Like those scripts it passes the new secret on the argv of `aws configure set` (visible in `ps` for
# the life of that process); the bench runs it against the local emulator only, with throwaway keys.
set -euo pipefail
profile="$1"
endpoint="$2"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
cli() { aws --endpoint-url "$endpoint" --profile "$profile" "$@"; }

old_id="$(aws configure get aws_access_key_id --profile "$profile")"
read -r new_id new_secret < <(cli iam create-access-key --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
aws configure set aws_access_key_id "$new_id" --profile "$profile"
aws configure set aws_secret_access_key "$new_secret" --profile "$profile"
unset new_secret

# Until the new key is accepted (it takes seconds to propagate on AWS): poll once a second, 60 s at most.
for _ in $(seq 1 60); do
  if cli sts get-caller-identity --output text >/dev/null 2>&1; then
    cli iam delete-access-key --access-key-id "$old_id"
    echo "rotated $old_id -> $new_id"
    exit 0
  fi
  sleep 1
done
echo "the new key $new_id never worked; the old key $old_id was kept" >&2
exit 1

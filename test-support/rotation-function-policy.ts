/**
 * What the Secrets Manager rotation function's role may do, as examples/secretsmanager-rotation-lambda's
 * template.yaml and `@keyup/cdk`'s RotatedAccessKey grant it (there on the one secret; here on "*",
 * since moto evaluates no resource ARNs or conditions). TagResource/UntagResource write and remove the
 * handler's `keyup:pending:*` record. One copy for every test that plays the function's role, so a
 * permission the handler starts to need fails them all, not one.
 *
 * @example
 * ```ts
 * const role = await createUser("rotation-fn", { policy: ROTATION_FUNCTION_POLICY });
 * ```
 */
export const ROTATION_FUNCTION_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:ListSecretVersionIds",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
        "secretsmanager:TagResource",
        "secretsmanager:UntagResource",
      ],
      Resource: "*",
    },
  ],
};

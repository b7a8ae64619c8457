/**
 * IAM values the tests write out by hand, from AWS's documentation rather than from infra/iam.ts, so a test that
 * compares a built statement with them is an independent check.
 */

/** What a role may do with a KMS key it uses (AWS's action names), in the order our statements list them. */
export const KMS_USE_ACTIONS = [
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:DescribeKey",
];

/**
 * The statement every key policy opens with (AWS's default key policy): the account's root administers the key,
 * so IAM policies in the account decide who may use it.
 */
export function accountAdministersKey(account: string, partition: string) {
    return {
        Sid: "AccountAdministersKeyThroughIam",
        Effect: "Allow",
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: "kms:*",
        Resource: "*",
    };
}

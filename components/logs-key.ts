import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_PARTITION } from "../infra/iam";
import { keyPolicy, keyServiceStatement, ResourcePolicy } from "../infra/resource-policies";

export interface LogsKeyArgs {
    /** Alias name without `alias/`, e.g. `vision-mlops-staging-logs`. */
    readonly aliasName: string;
    readonly accountId: pulumi.Input<string>;
    readonly region: string;
    /** Days before a deleted key is gone. Defaults to 30. */
    readonly deletionWindowDays?: number;
}

/**
 * A customer-managed key, rotated yearly, that encrypts the stack's CloudWatch log groups (Lambda functions,
 * state machines): CloudWatch Logs may use it only for log groups of this account and region (the
 * `aws:logs:arn` encryption context), and the account administers it through IAM.
 */
export class LogsKey extends pulumi.ComponentResource {
    public readonly key: aws.kms.Key;
    public readonly arn: pulumi.Output<string>;

    constructor(name: string, args: LogsKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:monitoring:LogsKey", name, {}, opts);
        this.key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `${args.aliasName}: CloudWatch log groups of Lambda functions and state machines`,
                enableKeyRotation: true,
                deletionWindowInDays: args.deletionWindowDays ?? 30,
                policy: pulumi.output(args.accountId).apply((account) => JSON.stringify(logsKeyPolicy(account, args.region))),
            },
            { parent: this },
        );
        new aws.kms.Alias(`${name}-alias`, { name: `alias/${args.aliasName}`, targetKeyId: this.key.keyId }, { parent: this });
        this.arn = this.key.arn;
        this.registerOutputs({ arn: this.arn });
    }
}

/** The key policy: IAM administers it; CloudWatch Logs uses it for this account's log groups in this region only. */
export function logsKeyPolicy(account: string, region: string, partition = DEFAULT_PARTITION): ResourcePolicy {
    return keyPolicy(
        account,
        [
            keyServiceStatement(
                "CloudWatchLogsEncryptsThisAccountsLogGroups",
                `logs.${region}.amazonaws.com`,
                ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${partition}:logs:${region}:${account}:log-group:*` } },
            ),
        ],
        partition,
    );
}

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Environment } from "../infra/config";
import { alertTopicName } from "../infra/naming";

export interface AlertsArgs {
    readonly environment: Environment;
    /** Key that encrypts messages at rest; its policy must let CloudWatch and EventBridge use it. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** Addresses subscribed by e-mail (each confirms once). Defaults to none. */
    readonly emails?: readonly string[];
    /** Account that owns the topic; only its alarms and rules may publish. */
    readonly accountId: pulumi.Input<string>;
}

/**
 * The stack's alert topic: every alarm (endpoint errors and latency, drift, failed pipelines, budget) goes
 * here, encrypted with the data key, and on to the e-mail addresses in config.
 */
export class Alerts extends pulumi.ComponentResource {
    public readonly topic: aws.sns.Topic;
    public readonly topicArn: pulumi.Output<string>;

    constructor(name: string, args: AlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:monitoring:Alerts", name, {}, opts);
        this.topic = new aws.sns.Topic(
            `${name}-topic`,
            {
                name: alertTopicName(args.environment),
                kmsMasterKeyId: args.kmsKeyArn,
            },
            { parent: this },
        );
        new aws.sns.TopicPolicy(
            `${name}-topic-policy`,
            {
                arn: this.topic.arn,
                policy: pulumi
                    .all([this.topic.arn, args.accountId])
                    .apply(([arn, account]) => JSON.stringify(alertTopicPolicy(arn, account))),
            },
            { parent: this },
        );
        (args.emails ?? []).forEach((email, i) => {
            new aws.sns.TopicSubscription(
                `${name}-email-${i}`,
                {
                    topic: this.topic.arn,
                    protocol: "email",
                    endpoint: email,
                },
                { parent: this },
            );
        });
        this.topicArn = this.topic.arn;
        this.registerOutputs({ topicArn: this.topicArn });
    }
}

/** Who may publish: this account's CloudWatch alarms, EventBridge rules and budgets; nobody over plain HTTP. */
export function alertTopicPolicy(topicArn: string, account: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AccountServicesPublish",
                Effect: "Allow",
                Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"] },
                Action: "sns:Publish",
                Resource: topicArn,
                Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "sns:Publish",
                Resource: topicArn,
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    };
}

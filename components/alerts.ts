import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cloudwatchAlarmArn, eventRuleArn } from "../infra/iam";
import { alertTopicName, Environment, stackNamePrefix } from "../infra/naming";
import { ResourcePolicy, ResourceStatement, topicPolicy } from "../infra/resource-policies";

export interface AlertsArgs {
    readonly environment: Environment;
    /** Key that encrypts messages at rest; its policy must let CloudWatch and EventBridge use it. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** Addresses subscribed by e-mail (each confirms once). Defaults to none. */
    readonly emails?: readonly string[];
    /** Account that owns the topic; only its alarms, rules and budgets of this stack may publish. */
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
                    .output({ arn: this.topic.arn, account: args.accountId })
                    .apply(({ arn, account }) => JSON.stringify(alertTopicPolicy(arn, account, args.environment))),
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

/**
 * Who may publish: this stack's CloudWatch alarms and EventBridge rules (all named with the stack's prefix), the
 * account's budgets, each bound to its own kind of source ARN; nobody over plain HTTP. Budgets' documentation gives
 * the source ARN only as `arn:aws:budgets::<account>:*`, so budgets are bound to the account's budgets, not by name.
 */
export function alertTopicPolicy(topicArn: string, account: string, environment: Environment): ResourcePolicy {
    const m = /^arn:([^:]+):sns:([^:]+):(\d{12}):[^:]+$/.exec(topicArn);
    if (!m) throw new Error(`${JSON.stringify(topicArn)} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)`);
    const [, partition, region] = m;
    const prefix = `${stackNamePrefix(environment)}*`;
    const publish = (sid: string, service: string, sourceArn: string): ResourceStatement => ({
        Sid: sid,
        Effect: "Allow",
        Principal: { Service: [service] },
        Action: "sns:Publish",
        Resource: topicArn,
        Condition: { StringEquals: { "aws:SourceAccount": account }, ArnLike: { "aws:SourceArn": sourceArn } },
    });
    return topicPolicy(topicArn, [
        publish("StackAlarmsPublish", "cloudwatch.amazonaws.com", cloudwatchAlarmArn(region, account, prefix, partition)),
        publish("StackRulesPublish", "events.amazonaws.com", eventRuleArn(region, account, prefix, partition)),
        publish("AccountBudgetsPublish", "budgets.amazonaws.com", `arn:${partition}:budgets::${account}:*`),
    ]);
}

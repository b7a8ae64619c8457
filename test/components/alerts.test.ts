import { expect } from "chai";
import { Alerts, alertTopicPolicy } from "../../components/alerts";
import { allowedBy, parsePolicy } from "../../infra/policy-evaluation";
import { find, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";
import { componentTree } from "./support/component-tree";

describe("Alerts", () => {
    it("encrypts the topic, subscribes each address, and lets only this account's services publish over TLS", async () => {
        const declared = useMocks("staging");
        const key = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/k`;
        const alerts = new Alerts("alerts", {
            environment: "staging",
            kmsKeyArn: key,
            accountId: TEST_ACCOUNT,
            emails: ["a@example.com", "b@example.com"],
        });
        await settled(declared, alerts.topicArn);

        const topic = find(declared, "aws:sns/topic:Topic", "alerts-topic").inputs;
        expect(topic).to.include({ name: "vision-mlops-staging-alerts", kmsMasterKeyId: key });
        const subs = declared
            .filter((r) => r.type === "aws:sns/topicSubscription:TopicSubscription")
            .map((r) => [r.inputs.protocol, r.inputs.endpoint]);
        expect(subs).to.deep.equal([
            ["email", "a@example.com"],
            ["email", "b@example.com"],
        ]);

        const policy = JSON.parse(find(declared, "aws:sns/topicPolicy:TopicPolicy", "alerts-topic-policy").inputs.policy);
        const services = policy.Statement.filter((s: any) => s.Effect === "Allow").flatMap((s: any) => s.Principal.Service);
        expect(services).to.have.members(["cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"]);
        const deny = policy.Statement.find((s: any) => s.Effect === "Deny");
        expect(deny.Condition).to.deep.equal({ Bool: { "aws:SecureTransport": "false" } });
    });

    it("lets each service publish only for this stack's alarms, rules and budgets, not another stack's or account's", async () => {
        const declared = useMocks("staging");
        const alerts = new Alerts("alerts", {
            environment: "staging",
            kmsKeyArn: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/k`,
            accountId: TEST_ACCOUNT,
        });
        await settled(declared, alerts.topicArn);
        expect(
            declared.filter((r) => r.type === "aws:sns/topicSubscription:TopicSubscription"),
            "no addresses, no subscription",
        ).to.deep.equal([]);
        const statements = parsePolicy(find(declared, "aws:sns/topicPolicy:TopicPolicy", "alerts-topic-policy").inputs.policy);
        const topic = await new Promise<string>((r) => alerts.topicArn.apply(r));
        const OTHER = "210987654321";
        const publishes = (service: string, sourceArn: string, account = TEST_ACCOUNT) =>
            allowedBy(statements, {
                action: "sns:Publish",
                resource: topic,
                principal: { service },
                context: { "aws:SourceAccount": account, "aws:SourceArn": sourceArn, "aws:SecureTransport": "true" },
            });
        // Written out: the ARNs each service sends for this stack's alarms, failed-pipeline rules and budget.
        const alarm = (account: string, name: string) => `arn:aws:cloudwatch:us-east-1:${account}:alarm:${name}`;
        const rule = (account: string, name: string) => `arn:aws:events:us-east-1:${account}:rule/${name}`;
        const budget = (account: string, name: string) => `arn:aws:budgets::${account}:budget/${name}`;
        expect(publishes("cloudwatch.amazonaws.com", alarm(TEST_ACCOUNT, "vision-mlops-staging-traffic-signs-5xx"))).to.equal(true);
        expect(publishes("cloudwatch.amazonaws.com", alarm(TEST_ACCOUNT, "vision-mlops-prod-traffic-signs-5xx")), "prod's alarm").to.equal(
            false,
        );
        expect(publishes("cloudwatch.amazonaws.com", alarm(TEST_ACCOUNT, "someone-elses-alarm")), "an alarm of no stack").to.equal(false);
        expect(publishes("cloudwatch.amazonaws.com", alarm(OTHER, "vision-mlops-staging-x"), OTHER), "another account").to.equal(false);
        expect(publishes("events.amazonaws.com", rule(TEST_ACCOUNT, "vision-mlops-staging-traffic-signs-training-failed"))).to.equal(true);
        expect(
            publishes("events.amazonaws.com", rule(TEST_ACCOUNT, "vision-mlops-prod-traffic-signs-training-failed")),
            "prod's rule",
        ).to.equal(false);
        expect(publishes("events.amazonaws.com", alarm(TEST_ACCOUNT, "vision-mlops-staging-x")), "an alarm posing as a rule").to.equal(
            false,
        );
        expect(publishes("budgets.amazonaws.com", budget(TEST_ACCOUNT, "vision-mlops-staging-monthly"))).to.equal(true);
        expect(
            publishes("budgets.amazonaws.com", budget(OTHER, "vision-mlops-staging-monthly"), OTHER),
            "another account's budget",
        ).to.equal(false);
        expect(publishes("budgets.amazonaws.com", rule(TEST_ACCOUNT, "vision-mlops-staging-x")), "a rule posing as a budget").to.equal(
            false,
        );
    });

    it("binds every publisher to this account twice, by aws:SourceAccount and by the source ARN, in any partition", () => {
        // Written out by hand: AWS's confused-deputy guidance for SNS asks for both keys on service principals.
        const topic = "arn:aws-cn:sns:cn-north-1:123456789012:vision-mlops-prod-alerts";
        const publish = (Sid: string, service: string, sourceArn: string) => ({
            Sid,
            Effect: "Allow",
            Principal: { Service: [service] },
            Action: "sns:Publish",
            Resource: topic,
            Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": sourceArn } },
        });
        const policy = alertTopicPolicy(topic, "123456789012", "prod");
        expect(policy.Statement.slice(0, 3)).to.deep.equal([
            publish(
                "StackAlarmsPublish",
                "cloudwatch.amazonaws.com",
                "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:vision-mlops-prod-*",
            ),
            publish("StackRulesPublish", "events.amazonaws.com", "arn:aws-cn:events:cn-north-1:123456789012:rule/vision-mlops-prod-*"),
            publish("AccountBudgetsPublish", "budgets.amazonaws.com", "arn:aws-cn:budgets::123456789012:*"),
        ]);
        // Then topicPolicy's TLS-only deny (its own test writes it out).
        expect(policy.Statement.map((s) => s.Sid)).to.deep.equal([
            "StackAlarmsPublish",
            "StackRulesPublish",
            "AccountBudgetsPublish",
            "DenyInsecureTransport",
        ]);
    });

    it("refuses a topic ARN it cannot take the partition, region and account from", () => {
        for (const arn of [
            "arn:aws:sns:us-east-1:123456789012",
            "xarn:aws:sns:us-east-1:123456789012:t",
            "arn:aws:sns:us-east-1:123456789012:t:extra",
            "arn:aws:sqs:us-east-1:123456789012:t",
            "arn:aws:sns:us-east-1:1234:t",
        ])
            expect(() => alertTopicPolicy(arn, TEST_ACCOUNT, "staging"), arn).to.throw(
                `${JSON.stringify(arn)} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)`,
            );
    });

    it("parents the topic, its policy and subscriptions to itself and registers the topic's ARN as its output", async () => {
        const { declared, orphans, outputs } = await componentTree(
            (opts) =>
                new Alerts(
                    "alerts",
                    {
                        environment: "staging",
                        kmsKeyArn: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/k`,
                        accountId: TEST_ACCOUNT,
                        emails: ["a@example.com"],
                    },
                    opts,
                ),
        );
        expect(declared.map((r) => r.name).sort()).to.deep.equal(["alerts", "alerts-email-0", "alerts-topic", "alerts-topic-policy"]);
        expect(orphans).to.deep.equal([]);
        expect(outputs).to.deep.equal({ topicArn: "arn:aws:sns:us-east-1:123456789012:vision-mlops-staging-alerts" });
    });
});

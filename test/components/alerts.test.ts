import { expect } from "chai";
import { Alerts } from "../../components/alerts";
import { allowedBy, parsePolicy } from "../../infra/policy-evaluation";
import { find, settled, TEST_ACCOUNT, useMocks } from "../support/mocks";

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
});

import { expect } from "chai";
import { Alerts } from "../../components/alerts";
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
        const allow = policy.Statement.find((s: any) => s.Effect === "Allow");
        expect(allow.Principal.Service).to.have.members(["cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"]);
        expect(allow.Condition).to.deep.equal({ StringEquals: { "aws:SourceAccount": TEST_ACCOUNT } });
        const deny = policy.Statement.find((s: any) => s.Effect === "Deny");
        expect(deny.Condition).to.deep.equal({ Bool: { "aws:SecureTransport": "false" } });
    });
});

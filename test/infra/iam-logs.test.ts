import { expect } from "chai";
import { logDeliveryStatement, logGroupArn, logWriteStatement, policyDocument, writeActionsWithWildcardResource } from "../../infra/iam";

describe("IAM for logs and traces", () => {
    it("writes only to the named log groups' streams and refuses wildcards in the group", () => {
        const group = logGroupArn("us-east-1", "123456789012", "/aws/lambda/fn");
        expect(group).to.equal("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn");
        expect(logWriteStatement([group]).Resource).to.deep.equal([`${group}:log-stream:*`]);
        expect(() => logWriteStatement([])).to.throw(/at least one log group/);
        expect(() => logWriteStatement(["arn:aws:logs:us-east-1:123456789012:log-group:*"])).to.throw(/not a log group ARN/);
    });

    it("counts the log-delivery actions a state machine needs as account-wide only, and nothing next to them", () => {
        expect(writeActionsWithWildcardResource(policyDocument(logDeliveryStatement()))).to.deep.equal([]);
        const widened = { ...logDeliveryStatement(), Action: [...logDeliveryStatement().Action, "logs:DeleteLogGroup"] };
        expect(writeActionsWithWildcardResource(policyDocument(widened))).to.have.length(1);
    });
});

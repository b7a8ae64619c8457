import { expect } from "chai";
import { allowedBy, conditionKeys, conditionValues, deniedBy, parsePolicy, servicePrincipals } from "../../infra/policy-evaluation";

const BUCKET = "arn:aws:s3:::data-bucket";
const KEY = "arn:aws:kms:us-east-1:123456789012:key/data-key";

describe("infra/policy-evaluation", () => {
    it("reads every shape IAM accepts: one statement or a list, single values or lists", () => {
        const one = parsePolicy({ Statement: { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: BUCKET } });
        expect(one).to.have.length(1);
        const text = parsePolicy(
            JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:GetObject"], Resource: ["*"] }] }),
        );
        expect(text[0].Action).to.deep.equal(["s3:GetObject"]);
        expect(() => parsePolicy("{not json")).to.throw(/the policy is not JSON/);
        expect(() => parsePolicy({})).to.throw(/has no Statement/);
        expect(() => parsePolicy({ Statement: [{ Effect: "Maybe" }] })).to.throw(/Effect "Maybe", not Allow or Deny/);
    });

    it("denies plain-HTTP requests with the TLS-only statement, and nothing sent over TLS", () => {
        const policy = parsePolicy({
            Statement: [
                {
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:*",
                    Resource: [BUCKET, `${BUCKET}/*`],
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
            ],
        });
        const http = { "aws:SecureTransport": "false" };
        expect(deniedBy(policy, { action: "s3:GetObject", resource: `${BUCKET}/a/b.jpg`, context: http })).to.equal(true);
        expect(deniedBy(policy, { action: "s3:ListBucket", resource: BUCKET, context: http })).to.equal(true);
        expect(
            deniedBy(policy, { action: "S3:getobject", resource: `${BUCKET}/x`, context: http }),
            "actions compare case-insensitively",
        ).to.equal(true);
        expect(deniedBy(policy, { action: "s3:GetObject", resource: `${BUCKET}/x`, context: { "aws:SecureTransport": "true" } })).to.equal(
            false,
        );
        expect(deniedBy(policy, { action: "s3:GetObject", resource: "arn:aws:s3:::other/x", context: http })).to.equal(false);
        // A positive operator on a key the request lacks does not match.
        expect(deniedBy(policy, { action: "s3:GetObject", resource: `${BUCKET}/x` })).to.equal(false);
    });

    it("applies IAM's rules to negated operators, IfExists and Null when a key is absent", () => {
        const policy = parsePolicy({
            Statement: [
                {
                    Sid: "WrongKey",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:PutObject",
                    Resource: `${BUCKET}/*`,
                    Condition: {
                        StringNotEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": KEY },
                        Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "false" },
                    },
                },
                {
                    Sid: "NotKmsIfSet",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:PutObject",
                    Resource: `${BUCKET}/*`,
                    Condition: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" } },
                },
            ],
        });
        const put = (context: Record<string, string>) => deniedBy(policy, { action: "s3:PutObject", resource: `${BUCKET}/k`, context });
        expect(put({ "s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": KEY })).to.equal(
            false,
        );
        expect(
            put({ "s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": `${KEY}-other` }),
        ).to.equal(true);
        expect(put({ "s3:x-amz-server-side-encryption": "AES256" })).to.equal(true);
        // No headers: WrongKey needs its key present (Null "false"); NotKmsIfSet's IfExists matches the absent key.
        expect(put({})).to.equal(true, "StringNotEqualsIfExists matches an absent key");
        const withoutIfExists = parsePolicy({
            Statement: [
                { ...policy[0] },
                { ...policy[1], Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" } } },
            ],
        });
        expect(
            deniedBy(withoutIfExists, { action: "s3:PutObject", resource: `${BUCKET}/k`, context: {} }),
            "negated: absent key is true",
        ).to.equal(true);
    });

    it("matches Like patterns, NotAction, service principals and keys case-insensitively", () => {
        const policy = parsePolicy({
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { Service: "events.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: { ArnLike: { "AWS:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/vision-mlops-staging-*" } },
                },
                { Effect: "Deny", NotAction: ["s3:Get*", "s3:List*"], Resource: "*" },
            ],
        });
        const rule = (name: string) => ({
            action: "sts:AssumeRole",
            resource: "arn:aws:iam::123456789012:role/r",
            principal: { service: "events.amazonaws.com" },
            context: { "aws:SourceArn": `arn:aws:events:us-east-1:123456789012:rule/${name}` },
        });
        expect(allowedBy(policy, rule("vision-mlops-staging-traffic-signs-retrain"))).to.equal(true);
        expect(allowedBy(policy, rule("someone-elses-rule"))).to.equal(false);
        expect(allowedBy(policy, { ...rule("vision-mlops-staging-x"), principal: { service: "sagemaker.amazonaws.com" } })).to.equal(false);
        expect(deniedBy(policy, { action: "s3:GetObject", resource: "x" })).to.equal(false);
        expect(deniedBy(policy, { action: "s3:PutObject", resource: "x" })).to.equal(true);
        expect(servicePrincipals(policy[0])).to.deep.equal(["events.amazonaws.com"]);
        expect(conditionKeys(policy[0])).to.deep.equal(["aws:sourcearn"]);
        expect(conditionValues(policy[0], "aws:SourceArn")).to.deep.equal([
            "arn:aws:events:us-east-1:123456789012:rule/vision-mlops-staging-*",
        ]);
    });

    it("refuses to guess at operators and elements it does not evaluate", () => {
        const set = parsePolicy({
            Statement: [{ Effect: "Deny", Action: "*", Resource: "*", Condition: { "ForAnyValue:StringLike": { "aws:TagKeys": "x" } } }],
        });
        expect(() => deniedBy(set, { action: "s3:GetObject", resource: "x" })).to.throw(
            /set operator ForAnyValue:StringLike is not evaluated/,
        );
        const numeric = parsePolicy({
            Statement: [{ Effect: "Deny", Action: "*", Resource: "*", Condition: { NumericLessThan: { "s3:max-keys": "10" } } }],
        });
        expect(() => deniedBy(numeric, { action: "s3:ListBucket", resource: "x" })).to.throw(/operator NumericLessThan is not evaluated/);
        const notPrincipal = parsePolicy({
            Statement: [{ Effect: "Deny", NotPrincipal: { AWS: "arn:aws:iam::1:root" }, Action: "*", Resource: "*" }],
        });
        expect(() => deniedBy(notPrincipal, { action: "s3:GetObject", resource: "x" })).to.throw(/NotPrincipal/);
    });
});

import { expect } from "chai";
import {
    allowedBy,
    conditionKeys,
    conditionValues,
    deniedBy,
    listOf,
    parsePolicy,
    RawStatement,
    servicePrincipals,
} from "../../infra/policy-evaluation";

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

    describe("IAM's evaluation rules, one element at a time (AWS IAM User Guide: policy elements and condition operators)", () => {
        const allow = (extra: Partial<RawStatement>): RawStatement[] => [{ Effect: "Allow", Action: "*", Resource: "*", ...extra }];
        const request = { action: "s3:GetObject", resource: `${BUCKET}/images/a.jpg` };
        /** Whether the one-key condition `operator: { "test:key": values }` holds for a request carrying `actual`. */
        const holds = (operator: string, values: string | string[], actual?: string) =>
            allowedBy(allow({ Condition: { [operator]: { "test:key": values } } }), {
                ...request,
                context: actual === undefined ? {} : { "test:key": actual },
            });

        it("compares each string and ARN operator as IAM does: case-sensitive but for IgnoreCase, wildcards only in Like", () => {
            const arn = "arn:aws:sns:us-east-1:123456789012:alerts";
            const cases: [string, string, string, boolean][] = [
                ["StringEquals", "Abc", "Abc", true],
                ["StringEquals", "Abc", "abc", false],
                ["StringEquals", "a*", "abc", false],
                ["StringNotEquals", "Abc", "abc", true],
                ["StringNotEquals", "Abc", "Abc", false],
                ["StringEqualsIgnoreCase", "Abc", "aBC", true],
                ["StringEqualsIgnoreCase", "Abc", "abd", false],
                ["StringNotEqualsIgnoreCase", "Abc", "ABC", false],
                ["StringNotEqualsIgnoreCase", "Abc", "abd", true],
                ["StringLike", "a*c", "aXYc", true],
                ["StringLike", "a*c", "AXYc", false],
                ["StringNotLike", "a*c", "aXc", false],
                ["StringNotLike", "a*c", "AXc", true],
                ["ArnEquals", arn, arn, true],
                ["ArnEquals", arn, arn.replace("alerts", "other"), false],
                ["ArnEquals", arn, arn.toUpperCase(), false],
                ["ArnNotEquals", arn, arn, false],
                ["ArnNotEquals", arn, arn.replace("alerts", "other"), true],
                ["ArnLike", "arn:aws:sns:*:123456789012:alerts", arn, true],
                ["ArnLike", "arn:aws:sns:*:123456789012:alerts", arn.toUpperCase(), false],
                ["ArnNotLike", "arn:aws:sns:*:123456789012:alerts", arn, false],
                ["ArnNotLike", "arn:aws:sns:*:123456789012:alerts", arn.toUpperCase(), true],
                ["Bool", "true", "true", true],
                ["Bool", "true", "false", false],
            ];
            for (const [operator, value, actual, expected] of cases)
                expect(holds(operator, value, actual), `${operator} ${value} ~ ${actual}`).to.equal(expected);
        });

        it("ORs a key's values (for negated operators: matches none), and ANDs keys and operators", () => {
            expect(holds("StringEquals", ["a", "b"], "b")).to.equal(true);
            expect(holds("StringEquals", ["a", "b"], "c")).to.equal(false);
            expect(holds("StringNotEquals", ["a", "b"], "b")).to.equal(false);
            expect(holds("StringNotEquals", ["a", "b"], "c")).to.equal(true);
            const twoKeys = allow({ Condition: { StringEquals: { "test:one": "1", "test:two": "2" } } });
            expect(allowedBy(twoKeys, { ...request, context: { "test:one": "1", "test:two": "2" } })).to.equal(true);
            expect(allowedBy(twoKeys, { ...request, context: { "test:one": "1", "test:two": "3" } })).to.equal(false);
            const twoOperators = allow({ Condition: { StringEquals: { "test:one": "1" }, StringLike: { "test:two": "2*" } } });
            expect(allowedBy(twoOperators, { ...request, context: { "test:one": "1", "test:two": "20" } })).to.equal(true);
            expect(allowedBy(twoOperators, { ...request, context: { "test:one": "1", "test:two": "30" } })).to.equal(false);
        });

        it("tests presence with Null: true when the key is absent, false when present, either for both", () => {
            expect(holds("Null", "true")).to.equal(true);
            expect(holds("Null", "true", "x")).to.equal(false);
            expect(holds("Null", "false", "x")).to.equal(true);
            expect(holds("Null", "false")).to.equal(false);
            expect(holds("Null", ["true", "false"])).to.equal(true);
            expect(holds("Null", ["true", "false"], "x")).to.equal(true);
        });

        it("reads IAM wildcards: * any run of characters (a new line too), ? exactly one, everything else literally", () => {
            expect(holds("StringLike", "a?c", "abc")).to.equal(true);
            expect(holds("StringLike", "a?c", "ac")).to.equal(false);
            expect(holds("StringLike", "a?c", "abbc")).to.equal(false);
            expect(holds("StringLike", "a*c", "a\nc")).to.equal(true);
            expect(holds("StringLike", "a.c", "abc"), "a dot is a dot").to.equal(false);
            expect(holds("StringLike", "a.c", "a.c")).to.equal(true);
            expect(holds("StringLike", "(a+)[b]", "(a+)[b]")).to.equal(true);
            expect(holds("StringLike", "a+", "aa")).to.equal(false);
            expect(holds("StringLike", "$a^", "$a^")).to.equal(true);
        });

        it("matches actions case-insensitively and resources case-sensitively; NotAction and NotResource exclude", () => {
            expect(allowedBy(allow({ Action: "s3:getobject" }), request)).to.equal(true);
            expect(allowedBy(allow({ Action: "s3:Get*" }), { ...request, action: "s3:PutObject" })).to.equal(false);
            expect(allowedBy(allow({ Resource: `${BUCKET}/IMAGES/*` }), request)).to.equal(false);
            expect(allowedBy(allow({ Resource: `${BUCKET}/images/*` }), request)).to.equal(true);
            const notAction: RawStatement[] = [{ Effect: "Allow", NotAction: "s3:Get*", Resource: "*" }];
            expect(allowedBy(notAction, { ...request, action: "s3:PutObject" })).to.equal(true);
            expect(allowedBy(notAction, request)).to.equal(false);
            const notResource: RawStatement[] = [{ Effect: "Allow", Action: "*", NotResource: `${BUCKET}/images/*` }];
            expect(allowedBy(notResource, request)).to.equal(false);
            expect(allowedBy(notResource, { ...request, resource: `${BUCKET}/models/m.tar.gz` })).to.equal(true);
        });

        it('applies a statement with a Principal only to the callers it names: AWS "*" is anyone, no caller is no one named', () => {
            const both = allow({ Principal: { Service: "s3.amazonaws.com", AWS: "arn:aws:iam::111111111111:root" } });
            expect(allowedBy(both, { ...request, principal: { service: "s3.amazonaws.com" } })).to.equal(true);
            expect(allowedBy(both, { ...request, principal: { aws: "arn:aws:iam::111111111111:root" } })).to.equal(true);
            expect(allowedBy(both, { ...request, principal: { service: "sns.amazonaws.com" } })).to.equal(false);
            expect(allowedBy(both, { ...request, principal: { aws: "arn:aws:iam::222222222222:root" } })).to.equal(false);
            expect(allowedBy(both, { ...request, principal: {} })).to.equal(false);
            expect(allowedBy(both, request), "no caller").to.equal(false);
            expect(allowedBy(allow({ Principal: { AWS: "*" } }), request)).to.equal(true);
            expect(allowedBy(allow({ Principal: { AWS: ["arn:aws:iam::1:root", "*"] } }), request)).to.equal(true);
        });

        it("keeps Allow and Deny apart: an allowing statement denies nothing and a denying one allows nothing", () => {
            expect(deniedBy(allow({}), request)).to.equal(false);
            const deny: RawStatement[] = [{ Effect: "Deny", Action: "*", Resource: "*" }];
            expect(allowedBy(deny, request)).to.equal(false);
            expect(deniedBy(deny, request)).to.equal(true);
        });

        it("names the statement (or says it has no Sid) and keeps the JSON error as the cause when it refuses", () => {
            try {
                parsePolicy("{");
                expect.fail("parsed");
            } catch (e) {
                expect((e as Error).message).to.match(/^the policy is not JSON \(/);
                expect((e as Error).cause).to.be.instanceOf(SyntaxError);
            }
            expect(() => parsePolicy(null)).to.throw("the policy has no Statement");
            expect(() => parsePolicy(undefined)).to.throw("the policy has no Statement");
            expect(() => parsePolicy({ Statement: { Effect: "Permit" } })).to.throw(
                'statement (no Sid) has Effect "Permit", not Allow or Deny',
            );
            expect(() => parsePolicy({ Statement: { Sid: "S1", Effect: "Permit" } })).to.throw(
                'statement S1 has Effect "Permit", not Allow or Deny',
            );
            const refusal = (extra: Partial<RawStatement>) => () => allowedBy(allow(extra), request);
            expect(refusal({ NotPrincipal: { AWS: "x" } })).to.throw(
                "statement (no Sid) uses NotPrincipal, which these checks do not evaluate",
            );
            expect(refusal({ Sid: "S2", NotPrincipal: { AWS: "x" } })).to.throw("statement S2 uses NotPrincipal");
            expect(refusal({ Condition: { "ForAllValues:StringEquals": { k: "v" } } })).to.throw(
                "statement (no Sid): the set operator ForAllValues:StringEquals is not evaluated by these checks",
            );
            expect(refusal({ Sid: "S3", Condition: { DateLessThan: { k: "v" } } })).to.throw(
                "statement S3: condition operator DateLessThan is not evaluated by these checks",
            );
            expect(refusal({ Condition: { DateLessThan: { k: "v" } } })).to.throw("statement (no Sid): condition operator DateLessThan");
        });

        it("lists single values and lists alike, nothing for an absent one; collects a key's values under every operator", () => {
            expect(listOf(undefined)).to.deep.equal([]);
            expect(listOf("a")).to.deep.equal(["a"]);
            const list = ["a", "b"];
            expect(listOf(list)).to.deep.equal(["a", "b"]);
            expect(listOf(list), "a copy").to.not.equal(list);
            const s: RawStatement = {
                Effect: "Allow",
                Principal: { Service: ["events.amazonaws.com", "sns.amazonaws.com"] },
                Condition: {
                    StringEquals: { "aws:SourceAccount": "111111111111", "aws:SourceArn": "arn:x" },
                    ArnLike: { "AWS:SOURCEACCOUNT": ["222222222222", "333333333333"] },
                },
            };
            expect(conditionValues(s, "aws:sourceaccount")).to.deep.equal(["111111111111", "222222222222", "333333333333"]);
            expect(conditionKeys(s)).to.deep.equal(["aws:sourceaccount", "aws:sourcearn", "aws:sourceaccount"]);
            expect(servicePrincipals(s)).to.deep.equal(["events.amazonaws.com", "sns.amazonaws.com"]);
            expect(servicePrincipals({ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" } })).to.deep.equal(["s3.amazonaws.com"]);
            expect(servicePrincipals({ Effect: "Allow", Principal: "*" })).to.deep.equal([]);
            expect(servicePrincipals({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::1:root" } })).to.deep.equal([]);
            expect(servicePrincipals({ Effect: "Allow" })).to.deep.equal([]);
        });
    });
});

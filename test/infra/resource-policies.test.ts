import { expect } from "chai";
import { accountAdministersKey } from "../support/iam-literals";
import {
    bucketPolicy,
    keyPolicy,
    keyServiceStatement,
    resourcePolicy,
    ResourceStatement,
    s3LogDeliveryStatement,
    topicPolicy,
} from "../../infra/resource-policies";

const BUCKET = "arn:aws:s3:::vision-mlops-staging-raw-123456789012-us-east-1";
const KEY = "arn:aws:kms:us-east-1:123456789012:key/k";
const allow = (sid: string): ResourceStatement => ({
    Sid: sid,
    Effect: "Allow",
    Principal: { Service: "logging.s3.amazonaws.com" },
    Action: "s3:PutObject",
    Resource: `${BUCKET}/*`,
});

describe("resource policies", () => {
    it("refuse what would make a rule ambiguous or that the services reject", () => {
        expect(() => resourcePolicy()).to.throw("at least one statement");
        expect(() => resourcePolicy(allow("A"), allow("A"))).to.throw("statement id A appears twice in one policy");
        expect(() => resourcePolicy(allow("Log-delivery"))).to.throw('statement id "Log-delivery" must be letters and digits only');
        expect(() => resourcePolicy({ ...allow("A"), Action: [] })).to.throw("statement A has no actions");
        expect(() => resourcePolicy({ ...allow("A"), Resource: [] })).to.throw("statement A has no resources");
        expect(() => resourcePolicy({ ...allow("A"), Principal: { AWS: [] } })).to.throw("statement A names no principal");
        expect(resourcePolicy([allow("A")], allow("B")).Statement.map((s) => s.Sid)).to.deep.equal(["A", "B"]);
    });

    it("bucket: TLS only first, then uploads only with the bucket's key when it has one, then its own statements", () => {
        expect(bucketPolicy({ bucketArn: BUCKET, kmsKeyArn: KEY, statements: [allow("Extra")] }).Statement.map((s) => s.Sid)).to.deep.equal(
            ["DenyInsecureTransport", "DenyUploadsNotSseKms", "DenyUploadsWithAnotherKey", "DenyUploadsSseKmsWithoutKeyId", "Extra"],
        );
        const sseS3 = bucketPolicy({ bucketArn: BUCKET });
        expect(sseS3.Statement).to.deep.equal([
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [BUCKET, `${BUCKET}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ]);
        // The three upload rules as S3 evaluates them: a header asking for another algorithm, a header naming another
        // key, or aws:kms with no key id (S3 would pick the aws/s3 key) is refused; no header at all gets the default.
        const sse = "s3:x-amz-server-side-encryption";
        const keyId = "s3:x-amz-server-side-encryption-aws-kms-key-id";
        const upload = { Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: `${BUCKET}/*` };
        expect(bucketPolicy({ bucketArn: BUCKET, kmsKeyArn: KEY }).Statement.slice(1)).to.deep.equal([
            { Sid: "DenyUploadsNotSseKms", ...upload, Condition: { StringNotEquals: { [sse]: "aws:kms" }, Null: { [sse]: "false" } } },
            { Sid: "DenyUploadsWithAnotherKey", ...upload, Condition: { StringNotEquals: { [keyId]: KEY }, Null: { [keyId]: "false" } } },
            {
                Sid: "DenyUploadsSseKmsWithoutKeyId",
                ...upload,
                Condition: { StringEquals: { [sse]: "aws:kms" }, Null: { [keyId]: "true" } },
            },
        ]);
    });

    it("log delivery: S3's logging service may write objects, only for the stack account's buckets", () => {
        expect(s3LogDeliveryStatement("arn:aws:s3:::logs", "123456789012")).to.deep.equal({
            Sid: "AllowS3ServerAccessLogDelivery",
            Effect: "Allow",
            Principal: { Service: "logging.s3.amazonaws.com" },
            Action: "s3:PutObject",
            Resource: "arn:aws:s3:::logs/*",
            Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
        });
    });

    it("key: the account administers it through IAM, in the key's partition; services use it under their condition", () => {
        const doc = keyPolicy(
            "123456789012",
            [
                keyServiceStatement("LogsUse", "logs.cn-north-1.amazonaws.com", ["kms:Decrypt*"], {
                    ArnLike: { "kms:EncryptionContext:aws:logs:arn": "x" },
                }),
            ],
            "aws-cn",
        );
        expect(doc).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                accountAdministersKey("123456789012", "aws-cn"),
                {
                    Sid: "LogsUse",
                    Effect: "Allow",
                    Principal: { Service: "logs.cn-north-1.amazonaws.com" },
                    Action: ["kms:Decrypt*"],
                    Resource: "*",
                    Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": "x" } },
                },
            ],
        });
        expect(() => keyPolicy("12345", [])).to.throw('account "12345" must be a 12-digit AWS account id');
        for (const account of ["x123456789012", "123456789012x", "1234567890123"])
            expect(() => keyPolicy(account, []), account).to.throw(`account "${account}" must be a 12-digit AWS account id`);
    });

    it("topic: who may publish, and nobody over plain HTTP", () => {
        const topic = "arn:aws:sns:us-east-1:123456789012:t";
        const doc = topicPolicy(topic, [{ ...allow("Publish"), Action: "sns:Publish", Resource: topic }]);
        expect(doc.Statement.map((s) => s.Sid)).to.deep.equal(["Publish", "DenyInsecureTransport"]);
        expect(doc.Statement[1]).to.deep.equal({
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "sns:Publish",
            Resource: topic,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        });
    });
});

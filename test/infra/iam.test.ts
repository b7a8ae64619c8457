import { expect } from "chai";
import {
    ecrPullStatements,
    eventRuleArn,
    isReadAction,
    kmsUseStatement,
    passRoleStatement,
    policyDocument,
    putMetricDataStatement,
    s3BucketArn,
    s3ReadStatements,
    s3WriteStatements,
    sagemakerArn,
    sagemakerLogsStatement,
    sagemakerStatement,
    scheduleGroupArn,
    serviceTrustPolicy,
    Statement,
    writeActionsWithWildcardResource,
} from "../../infra/iam";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const REPO = "arn:aws:ecr:us-east-1:123456789012:repository/vision-mlops-staging-jobs";
const ROLE = "arn:aws:iam::123456789012:role/vision-mlops-staging-traffic-signs-training";

describe("infra/iam", () => {
    it("binds a trusted service to the source account and, where given, the resources that act for it", () => {
        const doc = serviceTrustPolicy(
            { service: "sagemaker.amazonaws.com", sourceAccount: "123456789012" },
            {
                service: "events.amazonaws.com",
                sourceAccount: "123456789012",
                sourceArns: [eventRuleArn("us-east-1", "123456789012", "vision-mlops-staging-traffic-signs-batch-manifest")],
            },
            {
                service: "scheduler.amazonaws.com",
                sourceAccount: "123456789012",
                sourceArns: [scheduleGroupArn("us-east-1", "123456789012")],
            },
        );
        expect(doc.Statement).to.deep.equal([
            {
                Effect: "Allow",
                Principal: { Service: ["sagemaker.amazonaws.com"] },
                Action: ["sts:AssumeRole"],
                Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
            },
            {
                Effect: "Allow",
                Principal: { Service: ["events.amazonaws.com"] },
                Action: ["sts:AssumeRole"],
                Condition: {
                    StringEquals: { "aws:SourceAccount": "123456789012" },
                    ArnLike: {
                        "aws:SourceArn": ["arn:aws:events:us-east-1:123456789012:rule/vision-mlops-staging-traffic-signs-batch-manifest"],
                    },
                },
            },
            {
                Effect: "Allow",
                Principal: { Service: ["scheduler.amazonaws.com"] },
                Action: ["sts:AssumeRole"],
                Condition: {
                    StringEquals: { "aws:SourceAccount": "123456789012" },
                    ArnLike: { "aws:SourceArn": ["arn:aws:scheduler:us-east-1:123456789012:schedule-group/default"] },
                },
            },
        ]);
    });

    it("refuses a trust without a real account, an ARN of another account, or a non-service principal", () => {
        expect(() => serviceTrustPolicy()).to.throw(/at least one service/);
        expect(() => serviceTrustPolicy({ service: "sagemaker.amazonaws.com", sourceAccount: "*" })).to.throw(
            /sourceAccount "\*" must be a 12-digit AWS account id/,
        );
        expect(() =>
            serviceTrustPolicy({
                service: "events.amazonaws.com",
                sourceAccount: "123456789012",
                sourceArns: [eventRuleArn("us-east-1", "210987654321", "other")],
            }),
        ).to.throw(/is not in the source account 123456789012/);
        expect(() =>
            serviceTrustPolicy({ service: "events.amazonaws.com", sourceAccount: "123456789012", sourceArns: ["rule/whatever"] }),
        ).to.throw(/is not an ARN/);
        expect(() => serviceTrustPolicy({ service: "sagemaker", sourceAccount: "123456789012" })).to.throw(/is not a service principal/);
    });

    it("scopes S3 reads to objects under the prefixes and listing to those prefixes", () => {
        const statements = s3ReadStatements([
            { bucketArn: s3BucketArn("raw-bucket"), prefixes: ["traffic-signs/"] },
            { bucketArn: s3BucketArn("curated-bucket"), prefixes: ["traffic-signs/", "shared/"] },
        ]);
        expect(statements).to.deep.equal([
            {
                Sid: "S3ReadObjects",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:GetObjectVersion"],
                Resource: [
                    "arn:aws:s3:::raw-bucket/traffic-signs/*",
                    "arn:aws:s3:::curated-bucket/traffic-signs/*",
                    "arn:aws:s3:::curated-bucket/shared/*",
                ],
            },
            {
                Sid: "S3ReadList0",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: ["arn:aws:s3:::raw-bucket"],
                Condition: { StringLike: { "s3:prefix": ["traffic-signs/*"] } },
            },
            {
                Sid: "S3ReadList1",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: ["arn:aws:s3:::curated-bucket"],
                Condition: { StringLike: { "s3:prefix": ["traffic-signs/*", "shared/*"] } },
            },
            {
                Sid: "S3ReadLocation",
                Effect: "Allow",
                Action: ["s3:GetBucketLocation"],
                Resource: ["arn:aws:s3:::raw-bucket", "arn:aws:s3:::curated-bucket"],
            },
        ]);
    });

    it("writes objects under the prefixes and never deletes", () => {
        const [write] = s3WriteStatements([{ bucketArn: s3BucketArn("artifacts"), prefixes: ["bikes/"] }]);
        expect(write.Resource).to.deep.equal(["arn:aws:s3:::artifacts/bikes/*"]);
        expect(write.Action).to.include("s3:PutObject");
        expect(write.Action.filter((a) => /Delete/.test(a))).to.be.empty;
    });

    it("rejects S3 scopes that would widen to the whole bucket or are not bucket ARNs", () => {
        expect(() => s3ReadStatements([{ bucketArn: s3BucketArn("raw-bucket"), prefixes: [""] }])).to.throw(
            /key prefix "" for arn:aws:s3:::raw-bucket must be a non-empty prefix/,
        );
        expect(() => s3WriteStatements([{ bucketArn: s3BucketArn("raw-bucket"), prefixes: ["*"] }])).to.throw(/must be a non-empty prefix/);
        expect(() => s3WriteStatements([{ bucketArn: s3BucketArn("raw-bucket"), prefixes: [] }])).to.throw(
            /no key prefixes given for arn:aws:s3:::raw-bucket/,
        );
        expect(() => s3ReadStatements([{ bucketArn: "raw-bucket", prefixes: ["a/"] }])).to.throw(
            /"raw-bucket" is not an S3 bucket ARN; build it with s3BucketArn/,
        );
    });

    it("uses one KMS key, with grants only for AWS resources when asked", () => {
        expect(kmsUseStatement(KEY)).to.have.length(1);
        const [use, grants] = kmsUseStatement(KEY, { grants: true });
        expect(use.Resource).to.deep.equal([KEY]);
        expect(use.Action).to.include.members(["kms:Decrypt", "kms:GenerateDataKey"]);
        expect(grants).to.deep.include({
            Action: ["kms:CreateGrant"],
            Resource: [KEY],
            Condition: { Bool: { "kms:GrantIsForAWSResource": true } },
        });
        expect(() => kmsUseStatement("alias/data")).to.throw(/"alias\/data" is not a KMS key ARN/);
    });

    it("pulls from one ECR repository; only the read-only token call takes *", () => {
        const [pull, token] = ecrPullStatements(REPO);
        expect(pull.Resource).to.deep.equal([REPO]);
        expect(pull.Action).to.deep.equal(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]);
        expect(token).to.deep.include({ Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] });
        expect(writeActionsWithWildcardResource(policyDocument(pull, token))).to.be.empty;
    });

    it("limits logs to the account's /aws/sagemaker log groups", () => {
        expect(sagemakerLogsStatement("eu-west-1", "123456789012").Resource).to.deep.equal([
            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/*",
            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/*:log-stream:*",
        ]);
    });

    it("scopes PutMetricData to exact namespaces, which the wildcard check accepts, and refuses a pattern", () => {
        const metrics = putMetricDataStatement(["/aws/sagemaker/TrainingJobs", "vision-mlops"]);
        expect(metrics.Condition).to.deep.equal({
            StringEquals: { "cloudwatch:namespace": ["/aws/sagemaker/TrainingJobs", "vision-mlops"] },
        });
        expect(() => putMetricDataStatement(["/aws/sagemaker/*"])).to.throw(/"\/aws\/sagemaker\/\*" is a pattern/);
        expect(() => putMetricDataStatement(["VisionMLOps/Monitoring?"])).to.throw(/is a pattern/);
        expect(writeActionsWithWildcardResource(policyDocument(metrics))).to.be.empty;
        const { Condition: _dropped, ...unscoped } = metrics;
        expect(writeActionsWithWildcardResource(policyDocument(unscoped))).to.deep.equal([unscoped]);
    });

    it("scopes SageMaker actions to ARNs and lowercases names as SageMaker does", () => {
        const group = sagemakerArn("us-east-1", "123456789012", "model-package-group", "Vision-MLOps-staging-traffic-signs");
        expect(group).to.equal("arn:aws:sagemaker:us-east-1:123456789012:model-package-group/vision-mlops-staging-traffic-signs");
        expect(sagemakerStatement(["CreateModelPackage", "sagemaker:DescribeModelPackageGroup"], [group], "Registry")).to.deep.equal({
            Sid: "Registry",
            Effect: "Allow",
            Action: ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackageGroup"],
            Resource: [group],
        });
        expect(() => sagemakerStatement(["CreateModel"], ["*"])).to.throw(/"\*" is not a SageMaker ARN/);
    });

    it("passes one role to one service", () => {
        expect(passRoleStatement(ROLE)).to.deep.equal({
            Sid: "PassRole",
            Effect: "Allow",
            Action: ["iam:PassRole"],
            Resource: [ROLE],
            Condition: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
        });
    });

    it("finds write actions on wildcard resources, and only those", () => {
        const bad: Statement[] = [
            { Effect: "Allow", Action: ["s3:PutObject"], Resource: ["*"] },
            { Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::*"] },
            {
                Effect: "Allow",
                Action: ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"],
                Resource: ["arn:aws:sagemaker:us-east-1:123456789012:*"],
            },
            { Effect: "Allow", Action: ["*"], Resource: ["*"] },
        ];
        const fine: Statement[] = [
            { Effect: "Allow", Action: ["sagemaker:DescribeTrainingJob", "sagemaker:ListTags"], Resource: ["*"] },
            { Effect: "Deny", Action: ["s3:DeleteObject"], Resource: ["*"] },
            { Effect: "Allow", Action: ["s3:PutObject"], Resource: ["arn:aws:s3:::bucket/prefix/*"] },
            {
                Effect: "Allow",
                Action: ["sagemaker:CreateTrainingJob"],
                Resource: ["arn:aws:sagemaker:us-east-1:123456789012:training-job/pipelines-*"],
            },
        ];
        expect(writeActionsWithWildcardResource(policyDocument(...fine, ...bad))).to.deep.equal(bad);
    });

    it("tells reads from writes by the action's verb", () => {
        expect(
            ["s3:GetObject", "ecr:BatchGetImage", "sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"].filter(isReadAction),
        ).to.have.length(4);
        expect(["s3:PutObject", "s3:Get*", "kms:GenerateDataKey", "iam:PassRole", "sagemaker:Getaway"].filter(isReadAction)).to.be.empty;
    });

    it("rejects documents IAM would reject", () => {
        expect(() => policyDocument()).to.throw(/at least one statement/);
        expect(() =>
            policyDocument({ Sid: "not-ok", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::b/p/*"] }),
        ).to.throw(/statement id "not-ok" must be letters and digits only/);
        expect(() => policyDocument({ Sid: "Empty", Effect: "Allow", Action: ["s3:GetObject"], Resource: [] })).to.throw(
            /statement Empty has no resources/,
        );
    });
});

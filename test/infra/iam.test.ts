import { expect } from "chai";
import {
    cloudwatchAlarmArn,
    ecrPullStatements,
    iamRoleArn,
    isWildcardResource,
    logDeliveryStatement,
    logWriteStatement,
    eventRuleArn,
    isReadAction,
    kmsUseStatement,
    passRoleStatement,
    pipelineJobStatements,
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
    xrayWriteStatement,
} from "../../infra/iam";
import { KMS_USE_ACTIONS } from "../support/iam-literals";

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

describe("infra/iam: every statement written out, every ARN check from both sides", () => {
    const ACCOUNT = "123456789012";

    it("a policy document is the 2012-10-17 language with the statements flattened in order", () => {
        const a: Statement = { Sid: "A1", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::b/p/*"] };
        const b: Statement = { Effect: "Deny", Action: ["s3:DeleteObject"], Resource: ["*"] };
        expect(policyDocument(a, [b, a])).to.deep.equal({ Version: "2012-10-17", Statement: [a, b, a] });
        // A statement without a Sid is fine; a trust statement names a Principal instead of resources.
        const trust: Statement = { Effect: "Allow", Principal: { Service: ["sagemaker.amazonaws.com"] }, Action: ["sts:AssumeRole"] };
        expect(policyDocument(trust).Statement).to.deep.equal([trust]);
        expect(() => policyDocument({ Sid: "NoActions", Effect: "Allow", Action: [], Resource: ["*"] })).to.throw(
            "statement NoActions has no actions",
        );
        expect(() => policyDocument({ Effect: "Allow", Action: [], Resource: ["*"] })).to.throw("statement (no Sid) has no actions");
        expect(() => policyDocument({ Effect: "Allow", Action: ["s3:GetObject"] })).to.throw("statement (no Sid) has no resources");
    });

    it("a trust refuses an account that is not exactly 12 digits and an ARN that is not one, at either end", () => {
        const trust = (sourceAccount: string, sourceArns?: string[]) => () =>
            serviceTrustPolicy({ service: "events.amazonaws.com", sourceAccount, sourceArns });
        expect(trust("x123456789012")).to.throw('events.amazonaws.com: sourceAccount "x123456789012" must be a 12-digit AWS account id');
        expect(trust("123456789012x")).to.throw(/must be a 12-digit AWS account id/);
        const rule = `arn:aws:events:us-east-1:${ACCOUNT}:rule/r`;
        expect(trust(ACCOUNT, [rule])).not.to.throw();
        expect(trust(ACCOUNT, [`x${rule}`])).to.throw(`events.amazonaws.com: source ARN "x${rule}" is not an ARN`);
        // The resource part must be there, and an ARN without an account is not in the source account.
        expect(trust(ACCOUNT, [`arn:aws:events:us-east-1:${ACCOUNT}:`])).to.throw(/is not an ARN/);
        expect(trust(ACCOUNT, [`${rule}\nx`])).to.throw(/is not an ARN/);
        // No account in the ARN (an S3 bucket's): it cannot be bound to the source account.
        expect(trust(ACCOUNT, ["arn:aws:s3:::bucket"])).to.throw(/source ARN "arn:aws:s3:::bucket" is not an ARN/);
        expect(trust(ACCOUNT, ["arn:aws:events:us-east-1:210987654321:rule/r"])).to.throw(
            "events.amazonaws.com: source ARN arn:aws:events:us-east-1:210987654321:rule/r is not in the source account 123456789012",
        );
        expect(() => serviceTrustPolicy({ service: "xsagemaker.amazonaws.com.evil", sourceAccount: ACCOUNT })).to.throw(
            '"xsagemaker.amazonaws.com.evil" is not a service principal; use a name such as sagemaker.amazonaws.com',
        );
        expect(() => serviceTrustPolicy({ service: "Sagemaker.amazonaws.com", sourceAccount: ACCOUNT })).to.throw(
            /is not a service principal/,
        );
    });

    it("role and alarm ARNs, and the role name rule (1-64 of letters, digits and + = , . @ _ -)", () => {
        expect(iamRoleArn(ACCOUNT, "a+=,.@_-Z9")).to.equal("arn:aws:iam::123456789012:role/a+=,.@_-Z9");
        expect(iamRoleArn(ACCOUNT, "r".repeat(64))).to.equal(`arn:aws:iam::123456789012:role/${"r".repeat(64)}`);
        expect(iamRoleArn(ACCOUNT, "r", "aws-us-gov")).to.equal("arn:aws-us-gov:iam::123456789012:role/r");
        for (const bad of ["", "r".repeat(65), "a/b", "a b", "a*"])
            expect(() => iamRoleArn(ACCOUNT, bad), bad).to.throw(
                `role name ${JSON.stringify(bad)} must be 1-64 letters, digits and + = , . @ _ - (IAM's rule)`,
            );
        for (const bad of ["12345678901", "1234567890123", "x23456789012", "12345678901x", "abcdefghijkl"])
            expect(() => iamRoleArn(bad, "r"), bad).to.throw(`account "${bad}" must be a 12-digit AWS account id`);
        expect(cloudwatchAlarmArn("eu-west-1", ACCOUNT, "vision-mlops-prod-*")).to.equal(
            "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:vision-mlops-prod-*",
        );
        expect(cloudwatchAlarmArn("cn-north-1", ACCOUNT, "a", "aws-cn")).to.equal("arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:a");
    });

    it("S3: one write statement of three actions, and a read needs a bucket; bucket ARNs checked at both ends", () => {
        const bucket = s3BucketArn("raw-bucket");
        expect(s3WriteStatements([{ bucketArn: bucket, prefixes: ["a/", "b/"] }])).to.deep.equal([
            {
                Sid: "S3Write",
                Effect: "Allow",
                Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                Resource: ["arn:aws:s3:::raw-bucket/a/*", "arn:aws:s3:::raw-bucket/b/*"],
            },
        ]);
        expect(() => s3ReadStatements([])).to.throw("s3ReadStatements needs at least one bucket scope");
        expect(() => s3WriteStatements([])).to.throw("s3WriteStatements needs at least one bucket scope");
        for (const bad of [`x${bucket}`, `${bucket}/`, `${bucket}/a`])
            expect(() => s3WriteStatements([{ bucketArn: bad, prefixes: ["a/"] }]), bad).to.throw(
                `${JSON.stringify(bad)} is not an S3 bucket ARN`,
            );
    });

    it("KMS: the seven actions of one key, grants under their own Sid; key ARNs checked at both ends", () => {
        expect(kmsUseStatement(KEY, { grants: true, sid: "DataKey" })).to.deep.equal([
            {
                Sid: "DataKey",
                Effect: "Allow",
                Action: KMS_USE_ACTIONS,
                Resource: [KEY],
            },
            {
                Sid: "DataKeyGrants",
                Effect: "Allow",
                Action: ["kms:CreateGrant"],
                Resource: [KEY],
                Condition: { Bool: { "kms:GrantIsForAWSResource": true } },
            },
        ]);
        expect(kmsUseStatement(KEY)[0].Sid).to.equal("KmsUse");
        for (const bad of [`x${KEY}`, `${KEY}/x`, `${KEY}*`])
            expect(() => kmsUseStatement(bad), bad).to.throw(
                `${JSON.stringify(bad)} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)`,
            );
    });

    it("ECR: pull from one repository, the token under its own Sid; repository ARNs checked at both ends", () => {
        expect(ecrPullStatements(REPO, "Jobs")).to.deep.equal([
            {
                Sid: "Jobs",
                Effect: "Allow",
                Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                Resource: [REPO],
            },
            { Sid: "JobsToken", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
        ]);
        for (const bad of [`x${REPO}`, `${REPO}*`, "arn:aws:ecr:us-east-1:123456789012:repository/"])
            expect(() => ecrPullStatements(bad), bad).to.throw(
                `${JSON.stringify(bad)} is not an ECR repository ARN (arn:aws:ecr:<region>:<account>:repository/<name>)`,
            );
    });

    it("logs, metrics and traces: the exact actions, and the log group ARN checked at both ends", () => {
        expect(sagemakerLogsStatement("eu-west-1", ACCOUNT, "aws", "Jobs")).to.deep.equal({
            Sid: "Jobs",
            Effect: "Allow",
            Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resource: [
                "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/*",
                "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/*:log-stream:*",
            ],
        });
        expect(sagemakerLogsStatement("us-east-1", ACCOUNT).Sid).to.equal("SageMakerLogs");
        const group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn";
        expect(logWriteStatement([group])).to.deep.equal({
            Sid: "Logs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: [`${group}:log-stream:*`],
        });
        for (const bad of [`x${group}`, `${group}*`])
            expect(() => logWriteStatement([bad]), bad).to.throw(`${JSON.stringify(bad)} is not a log group ARN`);
        expect(() => putMetricDataStatement([])).to.throw("putMetricDataStatement needs at least one CloudWatch namespace");
        expect(xrayWriteStatement()).to.deep.equal({
            Sid: "XRayTraces",
            Effect: "Allow",
            Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
            Resource: ["*"],
        });
        // X-Ray and log delivery accept only `*`: the wildcard check lets them through, and nothing beside them.
        expect(writeActionsWithWildcardResource(policyDocument(xrayWriteStatement(), logDeliveryStatement()))).to.deep.equal([]);
    });

    it("SageMaker: resources required, ARNs checked from the start; a pipeline's jobs by its tag", () => {
        expect(() => sagemakerStatement(["CreateModel", "DescribeModel"], [])).to.throw(
            "no resources given for sagemaker actions CreateModel, DescribeModel",
        );
        expect(() => sagemakerStatement(["CreateModel"], ["xarn:aws:sagemaker:us-east-1:123456789012:model/m"])).to.throw(
            /is not a SageMaker ARN/,
        );
        expect(sagemakerStatement(["CreateModel"], ["arn:aws:sagemaker:us-east-1:123456789012:model/m"])).to.deep.equal({
            Effect: "Allow",
            Action: ["sagemaker:CreateModel"],
            Resource: ["arn:aws:sagemaker:us-east-1:123456789012:model/m"],
        });
        const jobs = (type: string) => `arn:aws-cn:sagemaker:cn-north-1:123456789012:${type}/pipelines-*`;
        const request = { "aws:RequestTag/vision-mlops:pipeline": "vision-mlops-staging-m1-training" };
        const resource = { "aws:ResourceTag/vision-mlops:pipeline": "vision-mlops-staging-m1-training" };
        const resources = [jobs("training-job"), jobs("model")];
        expect(
            pipelineJobStatements({
                region: "cn-north-1",
                accountId: ACCOUNT,
                partition: "aws-cn",
                pipelineName: "vision-mlops-staging-m1-training",
                types: ["training-job", "model"],
                listTags: true,
                sid: "Train",
            }),
        ).to.deep.equal([
            {
                Sid: "TrainCreate",
                Effect: "Allow",
                Action: ["sagemaker:CreateTrainingJob", "sagemaker:CreateModel"],
                Resource: resources,
                Condition: { StringEquals: request },
            },
            {
                Sid: "TrainTag",
                Effect: "Allow",
                Action: ["sagemaker:AddTags"],
                Resource: resources,
                Condition: { StringEquals: request, StringEqualsIfExists: resource },
            },
            {
                Sid: "TrainManage",
                Effect: "Allow",
                Action: ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:DescribeModel", "sagemaker:ListTags"],
                Resource: resources,
                Condition: { StringEquals: resource },
            },
        ]);
        const plain = pipelineJobStatements({
            region: "us-east-1",
            accountId: ACCOUNT,
            pipelineName: "p",
            types: ["processing-job", "transform-job"],
        });
        expect(plain.map((s) => [s.Sid, s.Action, s.Resource])).to.deep.equal([
            [
                "PipelineJobsCreate",
                ["sagemaker:CreateProcessingJob", "sagemaker:CreateTransformJob"],
                [
                    "arn:aws:sagemaker:us-east-1:123456789012:processing-job/pipelines-*",
                    "arn:aws:sagemaker:us-east-1:123456789012:transform-job/pipelines-*",
                ],
            ],
            [
                "PipelineJobsTag",
                ["sagemaker:AddTags"],
                [
                    "arn:aws:sagemaker:us-east-1:123456789012:processing-job/pipelines-*",
                    "arn:aws:sagemaker:us-east-1:123456789012:transform-job/pipelines-*",
                ],
            ],
            [
                "PipelineJobsManage",
                [
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopTransformJob",
                ],
                [
                    "arn:aws:sagemaker:us-east-1:123456789012:processing-job/pipelines-*",
                    "arn:aws:sagemaker:us-east-1:123456789012:transform-job/pipelines-*",
                ],
            ],
        ]);
        expect(() => pipelineJobStatements({ region: "us-east-1", accountId: ACCOUNT, pipelineName: "p", types: [] })).to.throw(
            "pipelineJobStatements for p needs at least one job type",
        );
    });

    it("PassRole: role ARNs checked at both ends and by kind", () => {
        expect(passRoleStatement(ROLE, "states.amazonaws.com", "PassToStates").Condition).to.deep.equal({
            StringEquals: { "iam:PassedToService": "states.amazonaws.com" },
        });
        for (const bad of [`x${ROLE}`, "arn:aws:iam::123456789012:role/", "arn:aws:iam::123456789012:user/u"])
            expect(() => passRoleStatement(bad), bad).to.throw(
                `${JSON.stringify(bad)} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`,
            );
    });

    it("a read verb is a whole word of the action's name; a wildcard resource is * or an ARN ending in :*", () => {
        expect(["s3:Get", "s3:List", "sagemaker:Describe"].filter(isReadAction), "a verb alone").to.deep.equal([]);
        expect(isReadAction("s3:GetObject")).to.equal(true);
        expect(isWildcardResource("arn:aws:sagemaker:us-east-1:123456789012:*")).to.equal(true);
        expect(isWildcardResource("xarn:aws:sagemaker:us-east-1:123456789012:*")).to.equal(false);
        expect(isWildcardResource("arn:aws:sagemaker:us-east-1:123456789012:*x")).to.equal(false);
        expect(isWildcardResource("arn:aws:sagemaker:us-east-1:123456789012:model/*")).to.equal(false);
        // One wildcard resource among scoped ones is enough to flag the statement.
        const mixed: Statement = { Effect: "Allow", Action: ["s3:PutObject"], Resource: ["arn:aws:s3:::b/p/*", "*"] };
        expect(writeActionsWithWildcardResource(policyDocument(mixed))).to.deep.equal([mixed]);
    });
});

import { expect } from "chai";
import { MonitorPolicyInput, monitorJobPolicy, startPipelinePolicy } from "../../../infra/monitoring/policy";
import { KMS_USE_ACTIONS } from "../../support/iam-literals";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/k1";
const input: MonitorPolicyInput = {
    engine: "pipeline",
    model: "traffic-signs",
    region: "us-east-1",
    accountId: "123456789012",
    roleArn: "arn:aws:iam::123456789012:role/monitor",
    captureBucket: "capture-bucket",
    baselineUri: "s3://curated-bucket/traffic-signs/baselines/abc/monitoring_baseline.json",
    kmsKeyArn: KEY,
    repositoryArn: "arn:aws:ecr:us-east-1:123456789012:repository/jobs",
    metricsNamespace: "VisionMLOps/Monitoring/ep",
    pipelineName: "vision-mlops-staging-ts-monitoring",
};
const JOBS = "arn:aws:sagemaker:us-east-1:123456789012:processing-job/pipelines-*";
const TAG = { "aws:RequestTag/vision-mlops:pipeline": "vision-mlops-staging-ts-monitoring" };
const ON_TAGGED = { "aws:ResourceTag/vision-mlops:pipeline": "vision-mlops-staging-ts-monitoring" };

describe("infra/monitoring/policy", () => {
    it("pipeline engine: reads capture, ground truth, its monitoring prefix and the baseline; writes only monitoring; runs its own jobs", () => {
        expect(monitorJobPolicy(input)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "S3ReadObjects",
                    Effect: "Allow",
                    Action: ["s3:GetObject", "s3:GetObjectVersion"],
                    Resource: [
                        "arn:aws:s3:::capture-bucket/traffic-signs/capture/*",
                        "arn:aws:s3:::capture-bucket/traffic-signs/ground-truth/*",
                        "arn:aws:s3:::capture-bucket/traffic-signs/monitoring/*",
                        "arn:aws:s3:::curated-bucket/traffic-signs/baselines/abc/monitoring_baseline.json*",
                    ],
                },
                {
                    Sid: "S3ReadList0",
                    Effect: "Allow",
                    Action: ["s3:ListBucket"],
                    Resource: ["arn:aws:s3:::capture-bucket"],
                    Condition: {
                        StringLike: {
                            "s3:prefix": ["traffic-signs/capture/*", "traffic-signs/ground-truth/*", "traffic-signs/monitoring/*"],
                        },
                    },
                },
                {
                    Sid: "S3ReadList1",
                    Effect: "Allow",
                    Action: ["s3:ListBucket"],
                    Resource: ["arn:aws:s3:::curated-bucket"],
                    Condition: { StringLike: { "s3:prefix": ["traffic-signs/baselines/abc/monitoring_baseline.json*"] } },
                },
                {
                    Sid: "S3ReadLocation",
                    Effect: "Allow",
                    Action: ["s3:GetBucketLocation"],
                    Resource: ["arn:aws:s3:::capture-bucket", "arn:aws:s3:::curated-bucket"],
                },
                {
                    Sid: "S3Write",
                    Effect: "Allow",
                    Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                    Resource: ["arn:aws:s3:::capture-bucket/traffic-signs/monitoring/*"],
                },
                {
                    Sid: "KmsUse",
                    Effect: "Allow",
                    Action: KMS_USE_ACTIONS,
                    Resource: [KEY],
                },
                {
                    Sid: "KmsUseGrants",
                    Effect: "Allow",
                    Action: ["kms:CreateGrant"],
                    Resource: [KEY],
                    Condition: { Bool: { "kms:GrantIsForAWSResource": true } },
                },
                {
                    Sid: "EcrPull",
                    Effect: "Allow",
                    Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                    Resource: ["arn:aws:ecr:us-east-1:123456789012:repository/jobs"],
                },
                { Sid: "EcrPullToken", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
                {
                    Sid: "SageMakerLogs",
                    Effect: "Allow",
                    Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    Resource: [
                        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/*",
                        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/*:log-stream:*",
                    ],
                },
                {
                    Sid: "PutMetrics",
                    Effect: "Allow",
                    Action: ["cloudwatch:PutMetricData"],
                    Resource: ["*"],
                    Condition: { StringEquals: { "cloudwatch:namespace": ["VisionMLOps/Monitoring/ep"] } },
                },
                {
                    Sid: "PipelineProcessingJobsCreate",
                    Effect: "Allow",
                    Action: ["sagemaker:CreateProcessingJob"],
                    Resource: [JOBS],
                    Condition: { StringEquals: TAG },
                },
                {
                    Sid: "PipelineProcessingJobsTag",
                    Effect: "Allow",
                    Action: ["sagemaker:AddTags"],
                    Resource: [JOBS],
                    Condition: { StringEquals: TAG, StringEqualsIfExists: ON_TAGGED },
                },
                {
                    Sid: "PipelineProcessingJobsManage",
                    Effect: "Allow",
                    Action: ["sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"],
                    Resource: [JOBS],
                    Condition: { StringEquals: ON_TAGGED },
                },
                {
                    Sid: "PassRole",
                    Effect: "Allow",
                    Action: ["iam:PassRole"],
                    Resource: ["arn:aws:iam::123456789012:role/monitor"],
                    Condition: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
                },
            ],
        });
    });

    it("pipeline engine: refuses to build the role without the pipeline whose jobs it may create", () => {
        expect(() => monitorJobPolicy({ ...input, pipelineName: undefined })).to.throw(
            "the monitor role of traffic-signs runs a pipeline: give its pipelineName",
        );
        expect(() => monitorJobPolicy({ ...input, pipelineName: "" })).to.throw("give its pipelineName");
    });

    it("model-monitor engine: the same data rights, no job creation or PassRole, and no pipeline name needed", () => {
        const policy = monitorJobPolicy({ ...input, engine: "model-monitor", pipelineName: undefined });
        const sids = policy.Statement.map((s) => s.Sid);
        expect(sids).to.deep.equal([
            "S3ReadObjects",
            "S3ReadList0",
            "S3ReadList1",
            "S3ReadLocation",
            "S3Write",
            "KmsUse",
            "KmsUseGrants",
            "EcrPull",
            "EcrPullToken",
            "SageMakerLogs",
            "PutMetrics",
        ]);
        expect(policy.Statement.slice(0, 11)).to.deep.equal(monitorJobPolicy(input).Statement.slice(0, 11));
    });

    it("uses a baseline stored under another key only when it is another key, and without grants", () => {
        const other = "arn:aws:kms:us-east-1:123456789012:key/k2";
        const withOther = monitorJobPolicy({ ...input, baselineKmsKeyArn: other }).Statement;
        expect(withOther.filter((s) => s.Sid === "BaselineKey")).to.deep.equal([
            {
                Sid: "BaselineKey",
                Effect: "Allow",
                Action: KMS_USE_ACTIONS,
                Resource: [other],
            },
        ]);
        expect(withOther.map((s) => s.Sid).indexOf("BaselineKey")).to.equal(7);
        expect(monitorJobPolicy({ ...input, baselineKmsKeyArn: KEY }).Statement.map((s) => s.Sid)).to.not.include("BaselineKey");
        expect(monitorJobPolicy({ ...input, baselineKmsKeyArn: "" }).Statement.map((s) => s.Sid)).to.not.include("BaselineKey");
    });

    it("lets the Scheduler and retraining roles start one pipeline and nothing else", () => {
        const arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/vision-mlops-staging-ts-monitoring";
        expect(startPipelinePolicy(arn)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [{ Sid: "StartPipeline", Effect: "Allow", Action: ["sagemaker:StartPipelineExecution"], Resource: [arn] }],
        });
    });
});

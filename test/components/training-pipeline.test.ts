import { expect } from "chai";
import { TrainingPipeline } from "../../components/training-pipeline";
import { PolicyDocument, writeActionsWithWildcardResource } from "../../infra/iam";
import { jobModelConfig } from "../../infra/job-contract";
import { modelConfigObject } from "../../infra/pipeline/image-classification";
import { readStackFile } from "../../infra/stack-file";
import { trainingModelSettings } from "../../stacks/component-args";
import { DeclaredResource, find, ofType, settled, TEST_ACCOUNT, unwrapOutput, useMocks } from "../support/mocks";

const T = {
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    object: "aws:s3/bucketObjectv2:BucketObjectv2",
    group: "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    pipeline: "aws:sagemaker/pipeline:Pipeline",
    rule: "aws:cloudwatch/eventRule:EventRule",
    target: "aws:cloudwatch/eventTarget:EventTarget",
};
const KEY = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/lake-key`;
const REPO = `arn:aws:ecr:us-east-1:${TEST_ACCOUNT}:repository/vision-mlops-staging-jobs`;
const JOBS_IMAGE = `${TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/vision-mlops-staging-jobs@sha256:${"0".repeat(64)}`;
const TOPIC = `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:alerts`;
const BUCKETS = { raw: "raw-bucket", curated: "curated-bucket", artifacts: "artifacts-bucket" };
const staging = readStackFile(".", "staging");

async function build(
    model: string,
    extra: { alarmTopicArn?: string } = {},
): Promise<{ declared: DeclaredResource[]; tp: TrainingPipeline }> {
    const declared = useMocks("staging");
    const tp = new TrainingPipeline(model, {
        environment: "staging",
        model,
        settings: trainingModelSettings(staging.models[model]),
        retrainSchedule: staging.models[model].training.retrainSchedule,
        buckets: BUCKETS,
        kmsKeyArn: KEY,
        jobsImageUri: JOBS_IMAGE,
        jobsRepositoryArn: REPO,
        accountId: TEST_ACCOUNT,
        region: "us-east-1",
        gitCommit: "0123abcd",
        ...extra,
    });
    await settled(declared, tp.definition, tp.pipelineArn);
    return { declared, tp };
}

describe("TrainingPipeline", () => {
    describe("traffic-signs (staging, with a retraining schedule and an alarm topic)", () => {
        let declared: DeclaredResource[];
        let tp: TrainingPipeline;
        before(async () => ({ declared, tp } = await build("traffic-signs", { alarmTopicArn: TOPIC })));

        it("gives the execution role a SageMaker trust and a scoped inline policy, no managed policies", () => {
            const role = find(declared, T.role, "traffic-signs-role").inputs;
            expect(role.name).to.equal("vision-mlops-staging-traffic-signs-training");
            expect(JSON.parse(role.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: ["sagemaker.amazonaws.com"] });
            expect(role).to.not.have.property("managedPolicyArns");
            expect(declared.filter(ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment"))).to.deep.equal([]);
            const policy: PolicyDocument = JSON.parse(find(declared, T.rolePolicy, "traffic-signs-role-policy").inputs.policy);
            expect(writeActionsWithWildcardResource(policy)).to.deep.equal([]);
            const resources = policy.Statement.flatMap((s) => s.Resource ?? []);
            expect(resources.filter((r) => r.startsWith("arn:aws:s3:::") && r.includes("/"))).to.deep.equal([
                "arn:aws:s3:::raw-bucket/traffic-signs/*",
                "arn:aws:s3:::curated-bucket/traffic-signs/*",
                "arn:aws:s3:::artifacts-bucket/traffic-signs/*",
                "arn:aws:s3:::curated-bucket/traffic-signs/*",
                "arn:aws:s3:::artifacts-bucket/traffic-signs/*",
            ]);
            expect(resources).to.include(KEY).and.include(REPO);
            expect(policy.Statement.find((s) => s.Action.includes("iam:PassRole"))!.Resource).to.deep.equal([
                `arn:aws:iam::${TEST_ACCOUNT}:role/vision-mlops-staging-traffic-signs-training`,
            ]);
        });

        it("lets SageMaker assume the execution role only for this account's pipeline and the jobs it creates", () => {
            const role = find(declared, T.role, "traffic-signs-role").inputs;
            const sm = (type: string, name: string) => `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:${type}/${name}`;
            expect(JSON.parse(role.assumeRolePolicy)).to.deep.equal({
                Version: "2012-10-17",
                Statement: [
                    {
                        Effect: "Allow",
                        Principal: { Service: ["sagemaker.amazonaws.com"] },
                        Action: ["sts:AssumeRole"],
                        Condition: {
                            StringEquals: { "aws:SourceAccount": TEST_ACCOUNT },
                            ArnLike: {
                                "aws:SourceArn": [
                                    sm("pipeline", "vision-mlops-staging-traffic-signs-training"),
                                    sm("processing-job", "pipelines-*"),
                                    sm("training-job", "pipelines-*"),
                                    sm("transform-job", "pipelines-*"),
                                    sm("model", "pipelines-*"),
                                ],
                            },
                        },
                    },
                ],
            });
        });

        it("lets EventBridge assume the starter role only for this model's batch-manifest and retrain rules", () => {
            const starter = find(declared, T.role, "traffic-signs-starter-role").inputs;
            expect(JSON.parse(starter.assumeRolePolicy).Statement).to.deep.equal([
                {
                    Effect: "Allow",
                    Principal: { Service: ["events.amazonaws.com"] },
                    Action: ["sts:AssumeRole"],
                    Condition: {
                        StringEquals: { "aws:SourceAccount": TEST_ACCOUNT },
                        ArnLike: {
                            "aws:SourceArn": [
                                `arn:aws:events:us-east-1:${TEST_ACCOUNT}:rule/vision-mlops-staging-traffic-signs-batch-manifest`,
                                `arn:aws:events:us-east-1:${TEST_ACCOUNT}:rule/vision-mlops-staging-traffic-signs-retrain`,
                            ],
                        },
                    },
                },
            ]);
        });

        it("publishes metrics only to SageMaker's job namespaces, never a pattern that takes in the drift metrics", () => {
            const policy: PolicyDocument = JSON.parse(find(declared, T.rolePolicy, "traffic-signs-role-policy").inputs.policy);
            const metrics = policy.Statement.filter((s) => s.Action.includes("cloudwatch:PutMetricData"));
            expect(metrics).to.deep.equal([
                {
                    Sid: "PutMetrics",
                    Effect: "Allow",
                    Action: ["cloudwatch:PutMetricData"],
                    Resource: ["*"],
                    Condition: {
                        StringEquals: {
                            "cloudwatch:namespace": [
                                "/aws/sagemaker/ProcessingJobs",
                                "/aws/sagemaker/TrainingJobs",
                                "/aws/sagemaker/TransformJobs",
                            ],
                        },
                    },
                },
            ]);
        });

        it("writes the model's job settings under a key named by their content, encrypted with the data key", () => {
            const object = find(declared, T.object, "traffic-signs-model-config").inputs;
            expect(object).to.deep.include({
                bucket: "artifacts-bucket",
                key: modelConfigObject("traffic-signs", staging.models["traffic-signs"]).key,
                serverSideEncryption: "aws:kms",
                kmsKeyId: KEY,
            });
            expect(JSON.parse(object.content)).to.deep.equal(jobModelConfig("traffic-signs", staging.models["traffic-signs"]));
            expect(object.key).to.match(/^traffic-signs\/config\/model-[0-9a-f]{16}\.json$/);
            const moreClasses = { ...staging.models["traffic-signs"], classes: [...staging.models["traffic-signs"].classes, "roadworks"] };
            expect(modelConfigObject("traffic-signs", moreClasses).key).to.not.equal(object.key, "new settings, new key");
        });

        it("creates the model package group under its stable name", () => {
            expect(find(declared, T.group, "traffic-signs-group").inputs.modelPackageGroupName).to.equal(
                "vision-mlops-staging-traffic-signs",
            );
        });

        it("attaches the built definition to the pipeline, with the role and a parallelism limit", async () => {
            const p = find(declared, T.pipeline, "traffic-signs-pipeline").inputs;
            expect(p.pipelineName).to.equal("vision-mlops-staging-traffic-signs-training");
            expect(p.roleArn).to.equal(`arn:aws:iam::${TEST_ACCOUNT}:role/vision-mlops-staging-traffic-signs-training`);
            expect(p.parallelismConfiguration).to.deep.equal({ maxParallelExecutionSteps: 1 });
            expect(p.pipelineDefinition).to.equal(await unwrapOutput(tp.definition));
            const definition = JSON.parse(p.pipelineDefinition);
            const train = definition.Steps.find((s: any) => s.Name === "Train");
            expect(train.Arguments.AlgorithmSpecification.TrainingImage).to.equal(
                "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
            );
            expect(train.Arguments.RoleArn).to.equal(p.roleArn);
            const preprocess = definition.Steps.find((s: any) => s.Name === "Preprocess");
            expect(preprocess.Arguments.AppSpecification.ImageUri).to.equal(JOBS_IMAGE);
            const gate = definition.Steps.find((s: any) => s.Name === "QualityGate");
            expect(gate.Arguments.IfSteps[0].Arguments.CustomerMetadataProperties["git-commit"]).to.equal("0123abcd");
        });

        it("starts the pipeline for the model's batch manifests with BatchManifestKey from the event", () => {
            const rule = find(declared, T.rule, "traffic-signs-trigger").inputs;
            expect(JSON.parse(rule.eventPattern).detail).to.deep.equal({
                bucket: { name: ["raw-bucket"] },
                object: { key: [{ wildcard: "traffic-signs/batches/*/_manifest.json" }] },
            });
            const target = find(declared, T.target, "traffic-signs-trigger-target").inputs;
            expect(target.arn).to.equal(`arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:pipeline/vision-mlops-staging-traffic-signs-training`);
            expect(target.sagemakerPipelineTarget).to.deep.equal({
                pipelineParameterLists: [{ name: "BatchManifestKey", value: "$.detail.object.key" }],
            });
            const starter = find(declared, T.role, "traffic-signs-starter-role").inputs;
            expect(target.roleArn).to.equal(`arn:aws:iam::${TEST_ACCOUNT}:role/${starter.name}`);
            expect(JSON.parse(starter.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: ["events.amazonaws.com"] });
            expect(JSON.parse(find(declared, T.rolePolicy, "traffic-signs-starter-policy").inputs.policy).Statement).to.deep.equal([
                {
                    Sid: "StartTrainingPipeline",
                    Effect: "Allow",
                    Action: ["sagemaker:StartPipelineExecution"],
                    Resource: [target.arn],
                },
            ]);
        });

        it("retrains on schedule with the pointer to the newest dataset, which the pipeline resolves", () => {
            expect(find(declared, T.rule, "traffic-signs-schedule").inputs.scheduleExpression).to.equal("rate(7 days)");
            expect(find(declared, T.target, "traffic-signs-schedule-target").inputs.sagemakerPipelineTarget).to.deep.equal({
                pipelineParameterLists: [{ name: "BatchManifestKey", value: "traffic-signs/latest/dataset.json" }],
            });
        });

        it("tells the alarm topic about failed executions of this pipeline", () => {
            const rule = JSON.parse(find(declared, T.rule, "traffic-signs-failures").inputs.eventPattern);
            expect(rule.detail).to.deep.equal({
                pipelineArn: [`arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:pipeline/vision-mlops-staging-traffic-signs-training`],
                currentPipelineExecutionStatus: ["Failed"],
            });
            expect(find(declared, T.target, "traffic-signs-failures-target").inputs.arn).to.equal(TOPIC);
        });

        it("exposes the names and ARNs the stack exports", async () => {
            expect(await unwrapOutput(tp.pipelineName)).to.equal("vision-mlops-staging-traffic-signs-training");
            expect(await unwrapOutput(tp.modelPackageGroupName)).to.equal("vision-mlops-staging-traffic-signs");
            expect(await unwrapOutput(tp.roleArn)).to.equal(
                `arn:aws:iam::${TEST_ACCOUNT}:role/vision-mlops-staging-traffic-signs-training`,
            );
        });
    });

    it("has no schedule or failure rule when the model sets neither", async () => {
        const { declared } = await build("bikes-vs-motorcycles");
        expect(declared.filter(ofType(T.rule)).map((r) => r.name)).to.deep.equal(["bikes-vs-motorcycles-trigger"]);
    });

    it("keeps every physical name within AWS limits for a 48-character model name", async () => {
        const model = "m".repeat(48);
        const declared = useMocks("staging");
        const tp = new TrainingPipeline("long", {
            environment: "staging",
            model,
            settings: trainingModelSettings(staging.models["traffic-signs"]),
            retrainSchedule: "rate(7 days)",
            buckets: BUCKETS,
            kmsKeyArn: KEY,
            jobsImageUri: JOBS_IMAGE,
            jobsRepositoryArn: REPO,
            accountId: TEST_ACCOUNT,
            region: "us-east-1",
            alarmTopicArn: TOPIC,
        });
        await settled(declared, tp.definition);
        for (const r of declared.filter(ofType(T.role))) expect(r.inputs.name).to.have.length.at.most(64);
        for (const r of declared.filter(ofType(T.rule)))
            expect(r.inputs.name)
                .to.have.length.at.most(64)
                .and.match(/^[.\-_A-Za-z0-9]+$/);
        expect(find(declared, T.pipeline, "long-pipeline").inputs.pipelineName).to.have.length.at.most(63);
        expect(find(declared, T.group, "long-group").inputs.modelPackageGroupName).to.have.length.at.most(63);
        const roles = declared.filter(ofType(T.role)).map((r) => r.inputs.name);
        expect(new Set(roles).size).to.equal(roles.length);
    });
});

import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import { readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { TrainingPipeline, TrainingPipelineArgs } from "../../components/training-pipeline";
import { PolicyDocument, writeActionsWithWildcardResource } from "../../infra/iam";
import { allSteps } from "../../infra/pipeline/builder";
import { modelConfigObject } from "../../infra/pipeline/image-classification";
import { readStackFile } from "../../infra/stack-file";
import { trainingModelSettings } from "../../stacks/component-args";
import { tempDir } from "../jobs/support/images";
import { DeclaredResource, find, ofType, settled, TEST_ACCOUNT, unwrapOutput, useMocks } from "../support/mocks";
import { DOCUMENTED_DRIFT_DEFAULTS } from "../support/drift-defaults";
import { parentage, registeredOutputs } from "./support/component-tree";

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

/** The staging pipeline of `model` as the stack declares it, with `extra` over it. */
function pipelineArgs(model: string, extra: Partial<TrainingPipelineArgs> = {}): TrainingPipelineArgs {
    return {
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
    };
}

async function build(
    model: string,
    extra: Partial<TrainingPipelineArgs> = {},
): Promise<{
    declared: DeclaredResource[];
    tp: TrainingPipeline;
    options: Map<string, pulumi.CustomResourceOptions>;
    dependsOn: (type: string, name: string) => string[];
}> {
    const declared = useMocks("staging");
    // Mocks do not see resource options; a (legacy, SDK-side) transformation sees what each child was given.
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const record: pulumi.ResourceTransformation = ({ type, name, opts }) => void options.set(`${type}::${name}`, opts);
    const tree = parentage();
    const tp = new TrainingPipeline(model, pipelineArgs(model, extra), { transformations: [record, ...tree.transformations] });
    await settled(declared, tp.definition, tp.pipelineArn);
    return { declared, tp, options, dependsOn: tree.dependsOn };
}

describe("TrainingPipeline", () => {
    describe("traffic-signs (staging, with a retraining schedule and an alarm topic)", () => {
        let declared: DeclaredResource[];
        let tp: TrainingPipeline;
        let options: Map<string, pulumi.CustomResourceOptions>;
        let dependsOn: (type: string, name: string) => string[];
        before(async () => ({ declared, tp, options, dependsOn } = await build("traffic-signs", { alarmTopicArn: TOPIC })));

        it("registers its pipeline, model package group, role and definition as outputs", async () => {
            const outputs = await registeredOutputs(tp);
            expect(Object.keys(outputs).sort()).to.deep.equal([
                "definition",
                "modelPackageGroupName",
                "pipelineArn",
                "pipelineName",
                "roleArn",
            ]);
            expect(outputs).to.deep.include({
                pipelineName: "vision-mlops-staging-traffic-signs-training",
                modelPackageGroupName: "vision-mlops-staging-traffic-signs",
                roleArn: `arn:aws:iam::${TEST_ACCOUNT}:role/vision-mlops-staging-traffic-signs-training`,
            });
        });

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

        it("tags every job and model of the deployed pipeline with the pipeline's name, the one its role's job grants name", () => {
            const pipeline = find(declared, T.pipeline, "traffic-signs-pipeline").inputs;
            const jobs = allSteps(JSON.parse(pipeline.pipelineDefinition)).filter((s) =>
                ["Processing", "Training", "Model", "Transform"].includes(s.Type),
            );
            expect(jobs.map((s) => s.Name)).to.include.members(["Preprocess", "Train", "CreateModel", "Transform", "Evaluate"]);
            for (const s of jobs)
                expect((s.Arguments as { Tags?: unknown }).Tags, s.Name).to.deep.equal([
                    { Key: "vision-mlops:pipeline", Value: pipeline.pipelineName },
                ]);
            const policy: PolicyDocument = JSON.parse(find(declared, T.rolePolicy, "traffic-signs-role-policy").inputs.policy);
            const onJobs = policy.Statement.filter((s) => (s.Resource ?? []).some((r) => r.includes("/pipelines-")));
            expect(onJobs.map((s) => s.Sid)).to.deep.equal(["PipelineJobsCreate", "PipelineJobsTag", "PipelineJobsManage"]);
            const named = onJobs.flatMap((s) => Object.values(s.Condition ?? {}).flatMap((byKey) => Object.values(byKey)));
            expect(new Set(named)).to.deep.equal(new Set([pipeline.pipelineName]));
        });

        it("lets the execution role of a built-in algorithm model pull only the jobs image, none of the PyTorch repositories", () => {
            const policy: PolicyDocument = JSON.parse(find(declared, T.rolePolicy, "traffic-signs-role-policy").inputs.policy);
            const pulled = policy.Statement.filter((s) => s.Action.includes("ecr:BatchGetImage")).flatMap((s) => s.Resource ?? []);
            expect(pulled).to.deep.equal([REPO]);
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
            // Pulumi.staging.yaml's traffic-signs, with the schema's documented defaults for what it leaves out.
            expect(JSON.parse(object.content)).to.deep.equal({
                model: "traffic-signs",
                classes: staging.models["traffic-signs"].classes,
                imageShape: [3, 224, 224],
                split: { validation: 0.1, test: 0.1 },
                seed: 42,
                minAccuracy: 0.9,
                maxRegression: 0.01,
                confidenceThreshold: 0.8,
                drift: DOCUMENTED_DRIFT_DEFAULTS,
            });
            expect(JSON.parse(object.content).classes)
                .to.have.length(43)
                .and.include.members(["speed-limit-20", "end-of-no-passing-over-3.5t"]);
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

        it("describes each of its resources for the operator who finds it in the console", () => {
            const PIPELINE = "vision-mlops-staging-traffic-signs-training";
            expect(find(declared, T.role, "traffic-signs-role").inputs).to.deep.include({
                description: "SageMaker training pipeline and jobs of traffic-signs",
                // An hour, as the component asks: IAM's minimum session length.
                maxSessionDuration: 3600,
            });
            expect(find(declared, T.role, "traffic-signs-starter-role").inputs).to.deep.include({
                name: "vision-mlops-staging-traffic-signs-training-starter",
                description: "EventBridge starts the training pipeline of traffic-signs",
            });
            expect(find(declared, T.pipeline, "traffic-signs-pipeline").inputs).to.deep.include({
                pipelineDisplayName: PIPELINE,
                pipelineDescription: "Preprocess, train, evaluate and register traffic-signs when a batch manifest arrives",
            });
            expect(find(declared, T.group, "traffic-signs-group").inputs.modelPackageGroupDescription).to.equal(
                "GTSRB traffic signs, 43 classes",
            );
            expect(find(declared, T.rule, "traffic-signs-trigger").inputs).to.deep.include({
                name: "vision-mlops-staging-traffic-signs-batch-manifest",
                description: `Start ${PIPELINE} when a batch manifest of traffic-signs lands in the raw bucket`,
            });
            expect(find(declared, T.rule, "traffic-signs-schedule").inputs).to.deep.include({
                name: "vision-mlops-staging-traffic-signs-retrain",
                description: "Retrain traffic-signs on its newest complete dataset (traffic-signs/latest/dataset.json), rate(7 days)",
            });
            expect(find(declared, T.rule, "traffic-signs-failures").inputs).to.deep.include({
                name: "vision-mlops-staging-traffic-signs-training-failed",
                description: `Failed executions of ${PIPELINE}`,
            });
        });

        it("keeps the model config through a destroy, as JSON, and declares the pipeline after the config and the group it names", () => {
            expect(find(declared, T.object, "traffic-signs-model-config").inputs.contentType).to.equal("application/json");
            const opts = (type: string, name: string) => options.get(`${type}::${name}`)!;
            // Executions (and cached steps) of an older definition still read the config it names.
            expect(opts(T.object, "traffic-signs-model-config").retainOnDelete).to.equal(true);
            // Not asked to protect the registry: a staging teardown may remove it.
            expect(opts(T.group, "traffic-signs-group")).to.deep.include({ protect: false, retainOnDelete: false });
            // SageMaker reads the config when a run starts; the definition's packages go into the group.
            expect(dependsOn(T.pipeline, "traffic-signs-pipeline")).to.deep.equal([
                `${T.object}::traffic-signs-model-config`,
                `${T.group}::traffic-signs-group`,
            ]);
        });

        it("retries a manifest's start for an hour, and tells the topic which execution failed and what that means", () => {
            const trigger = find(declared, T.target, "traffic-signs-trigger-target").inputs;
            expect(trigger.rule).to.equal("vision-mlops-staging-traffic-signs-batch-manifest");
            expect(trigger.retryPolicy).to.deep.equal({ maximumRetryAttempts: 10, maximumEventAgeInSeconds: 3600 });
            const schedule = find(declared, T.target, "traffic-signs-schedule-target").inputs;
            expect(schedule).to.deep.include({
                rule: "vision-mlops-staging-traffic-signs-retrain",
                arn: `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:pipeline/vision-mlops-staging-traffic-signs-training`,
                roleArn: `arn:aws:iam::${TEST_ACCOUNT}:role/vision-mlops-staging-traffic-signs-training-starter`,
            });
            const failures = find(declared, T.target, "traffic-signs-failures-target").inputs;
            expect(failures.rule).to.equal("vision-mlops-staging-traffic-signs-training-failed");
            expect(failures.inputTransformer).to.deep.equal({
                inputPaths: { execution: "$.detail.pipelineExecutionArn" },
                inputTemplate:
                    '"Training pipeline of traffic-signs (staging) failed: <execution>. A Fail step means the quality gate rejected the model; otherwise a job failed."',
            });
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

    it("follows its own args: a protected registry, a parallelism, a default description, a PyTorch bundle kept on delete", async () => {
        const { description: _, ...settings } = trainingModelSettings(staging.models["dog-breeds"]);
        const { declared, options, dependsOn } = await build("dog-breeds", {
            settings,
            retrainSchedule: undefined,
            protectRegistry: true,
            maxParallelExecutionSteps: 3,
        });
        const opts = (type: string, name: string) => options.get(`${type}::${name}`)!;
        // The registry holds every version's evaluation evidence: neither a destroy nor a replacement removes it.
        expect(opts(T.group, "dog-breeds-group")).to.deep.include({ protect: true, retainOnDelete: true });
        expect(find(declared, T.group, "dog-breeds-group").inputs.modelPackageGroupDescription).to.equal("dog-breeds image classifier");
        expect(find(declared, T.pipeline, "dog-breeds-pipeline").inputs.parallelismConfiguration).to.deep.equal({
            maxParallelExecutionSteps: 3,
        });
        expect(opts(T.object, "dog-breeds-source").retainOnDelete).to.equal(true);
        expect(dependsOn(T.pipeline, "dog-breeds-pipeline")).to.deep.equal([
            `${T.object}::dog-breeds-model-config`,
            `${T.group}::dog-breeds-group`,
            `${T.object}::dog-breeds-source`,
        ]);
        // No schedule: EventBridge may assume the starter role for the batch-manifest rule only.
        expect(
            JSON.parse(find(declared, T.role, "dog-breeds-starter-role").inputs.assumeRolePolicy).Statement[0].Condition.ArnLike,
        ).to.deep.equal({
            "aws:SourceArn": [`arn:aws:events:us-east-1:${TEST_ACCOUNT}:rule/vision-mlops-staging-dog-breeds-batch-manifest`],
        });
    });

    it("refuses a parallelism that is not a whole number of at least one step", () => {
        for (const steps of [0, 1.5, -1])
            expect(() => {
                useMocks("staging");
                new TrainingPipeline("p", pipelineArgs("bikes-vs-motorcycles", { maxParallelExecutionSteps: steps }));
            }, String(steps)).to.throw(`TrainingPipeline p: maxParallelExecutionSteps must be a whole number >= 1, got ${steps}`);
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

for (const environment of ["staging", "prod"] as const)
    describe(`TrainingPipeline for a PyTorch model (dog-breeds, ${environment})`, () => {
        let declared: DeclaredResource[];
        let definition: { Steps: any[] };
        const stack = readStackFile(".", environment);
        const artifacts = `vision-mlops-${environment}-artifacts`;
        before(async () => {
            declared = useMocks(environment);
            const tp = new TrainingPipeline("dog-breeds", {
                environment,
                model: "dog-breeds",
                settings: trainingModelSettings(stack.models["dog-breeds"]),
                buckets: { raw: `vision-mlops-${environment}-raw`, curated: `vision-mlops-${environment}-curated`, artifacts },
                kmsKeyArn: KEY,
                jobsImageUri: JOBS_IMAGE,
                jobsRepositoryArn: REPO,
                accountId: TEST_ACCOUNT,
                region: "us-east-1",
            });
            await settled(declared, tp.definition, tp.pipelineArn);
            definition = JSON.parse(await unwrapOutput(tp.definition));
        });

        it("uploads jobs/pytorch as sourcedir.tar.gz under a key named by its bytes, encrypted with the data key, kept on delete", () => {
            const object = find(declared, T.object, "dog-breeds-source").inputs;
            const bytes = Buffer.from(object.contentBase64, "base64");
            const digest = createHash("sha256").update(bytes).digest("hex");
            expect(object).to.deep.include({
                bucket: artifacts,
                key: `dog-breeds/code/${digest.slice(0, 16)}/sourcedir.tar.gz`,
                contentType: "application/gzip",
                serverSideEncryption: "aws:kms",
                kmsKeyId: KEY,
            });
            // Unpacked by tar, as the training toolkit does: the platform's two scripts, byte for byte, at the root.
            const dir = tempDir("sourcedir");
            writeFileSync(join(dir, "sourcedir.tar.gz"), bytes);
            const listed = execFileSync("tar", ["-tzf", "sourcedir.tar.gz"], { cwd: dir, encoding: "utf8" }).trim().split("\n");
            expect(listed).to.include.members(["train.py", "inference.py"]);
            execFileSync("tar", ["-xzf", "sourcedir.tar.gz"], { cwd: dir });
            for (const script of ["train.py", "inference.py"])
                expect(readFileSync(join(dir, script)).equals(readFileSync(join("jobs", "pytorch", script))), script).to.equal(true);
        });

        it("trains in the PyTorch 2.6 GPU image from the code channel, network-isolated, on spot with checkpoints", () => {
            const train = definition.Steps.find((s) => s.Name === "Train").Arguments;
            expect(train.AlgorithmSpecification.TrainingImage).to.equal(
                "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-gpu-py312",
            );
            const code = train.InputDataConfig.find((c: any) => c.ChannelName === "code").DataSource.S3DataSource.S3Uri;
            expect(code).to.equal(`s3://${artifacts}/${find(declared, T.object, "dog-breeds-source").inputs.key}`);
            expect(train.HyperParameters).to.deep.include({
                sagemaker_program: '"train.py"',
                sagemaker_submit_directory: '"/opt/ml/input/data/code/sourcedir.tar.gz"',
                architecture: '"resnet50"',
                epochs: "25",
            });
            const weights = train.InputDataConfig.find((c: any) => c.ChannelName === "weights").DataSource.S3DataSource.S3Uri;
            expect(weights).to.equal(`s3://${artifacts}/dog-breeds/pretrained/resnet50-imagenet.pth`);
            expect(train).to.deep.include({ EnableNetworkIsolation: true, EnableManagedSpotTraining: true });
            expect(train.CheckpointConfig.LocalPath).to.equal("/opt/ml/checkpoints");
            expect(train.ResourceConfig).to.deep.include({ InstanceType: "ml.g4dn.xlarge", InstanceCount: 1 });
        });

        it("registers, transforms and builds its model with the PyTorch inference image running inference.py", () => {
            const model = definition.Steps.find((s) => s.Name === "CreateModel").Arguments.PrimaryContainer;
            expect(model.Image).to.equal("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312");
            expect(model.Environment).to.deep.include({
                SAGEMAKER_PROGRAM: "inference.py",
                SAGEMAKER_SUBMIT_DIRECTORY: "/opt/ml/model/code",
            });
            const gate = definition.Steps.find((s) => s.Name === "QualityGate").Arguments;
            const register = gate.IfSteps.find((s: any) => s.Name === "Register").Arguments;
            expect(register.InferenceSpecification.Containers.map((c: any) => c.Image)).to.deep.equal([model.Image]);
        });

        it("lets the training role pull exactly the two PyTorch repositories of its region", () => {
            const policy: PolicyDocument = JSON.parse(find(declared, T.rolePolicy, "dog-breeds-role-policy").inputs.policy);
            const pulled = policy.Statement.filter((s) => s.Action.includes("ecr:BatchGetImage")).flatMap((s) => s.Resource ?? []);
            expect(pulled).to.have.members([
                REPO,
                "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-training",
                "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-inference",
            ]);
            expect(writeActionsWithWildcardResource(policy)).to.deep.equal([]);
        });
    });

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { eventRuleArn, iamRoleArn, PIPELINE_GENERATED, sagemakerArn, ServiceTrust } from "../infra/iam";
import { Environment, fitName, iamName, modelPackageGroupName, pipelineName, prefixes, PROJECT } from "../infra/naming";
import {
    ALGORITHM_IMAGE,
    imageClassificationPipeline,
    BATCH_MANIFEST_PARAMETER,
    latestDatasetKey,
    modelConfigObject,
} from "../infra/pipeline/image-classification";
import { TrainingModelSettings } from "../infra/pipeline/training-model";
import { pipelineStarterPolicy, trainingRolePolicy } from "../infra/pipeline/training-role";
import {
    batchManifestEventPattern,
    batchManifestPipelineParameters,
    checkedParameters,
    failedExecutionEventPattern,
} from "../infra/pipeline/trigger";
import { PYTORCH_SOURCE_DIR } from "../infra/pipeline/pytorch";
import { SOURCE_BUNDLE_FILE, sourceBundle } from "../infra/pipeline/source-bundle";
import { pytorchModelImages, pytorchRepositoryArn } from "../infra/pytorch-images";
import { ServiceRole } from "./service-role";

export interface TrainingPipelineArgs {
    /** Environment name; part of every physical name. */
    readonly environment: Environment;
    /** Model name (lowercase letters, digits and hyphens, up to 48 characters); part of every physical name. */
    readonly model: string;
    /** What the pipeline trains, judges and registers: classes, image shape, training settings, the quality gate. */
    readonly settings: TrainingModelSettings;
    /** EventBridge schedule expression (`rate(7 days)`, `cron(...)`) that retrains on the newest dataset. None by default. */
    readonly retrainSchedule?: string;
    /** Protect and retain the model package group, which holds every version's evaluation evidence. Defaults to false. */
    readonly protectRegistry?: boolean;
    /** Data lake bucket names (not ARNs). The raw bucket must send EventBridge notifications. */
    readonly buckets: {
        readonly raw: pulumi.Input<string>;
        readonly curated: pulumi.Input<string>;
        readonly artifacts: pulumi.Input<string>;
    };
    /** The data lake key. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** The jobs image by digest (`JobsImage.imageUri`) and its repository (`JobsImage.repositoryArn`). */
    readonly jobsImageUri: pulumi.Input<string>;
    readonly jobsRepositoryArn: pulumi.Input<string>;
    readonly accountId: pulumi.Input<string>;
    readonly region: string;
    /** Defaults to "aws". */
    readonly partition?: string;
    /** Recorded with every registered package. Defaults to "unknown". */
    readonly gitCommit?: string;
    /** SNS topic told about failed executions (job failures and quality-gate rejections). None by default. */
    readonly alarmTopicArn?: pulumi.Input<string>;
    /** Steps one execution may run at once. Defaults to 1: the steps form a chain. */
    readonly maxParallelExecutionSteps?: number;
}

/**
 * One model's training pipeline: its execution role, `model.json` for the jobs, the model package group,
 * the SageMaker pipeline, the EventBridge rule that starts it when a batch manifest lands, and (with
 * `retrainSchedule`) a schedule that retrains on the newest manifest.
 */
export class TrainingPipeline extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly modelPackageGroup: aws.sagemaker.ModelPackageGroup;
    public readonly pipeline: aws.sagemaker.Pipeline;
    public readonly trigger: aws.cloudwatch.EventRule;
    public readonly schedule?: aws.cloudwatch.EventRule;
    public readonly pipelineArn: pulumi.Output<string>;
    public readonly pipelineName: pulumi.Output<string>;
    public readonly modelPackageGroupName: pulumi.Output<string>;
    public readonly roleArn: pulumi.Output<string>;
    /** The pipeline definition JSON, as deployed. */
    public readonly definition: pulumi.Output<string>;

    constructor(name: string, args: TrainingPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("vision-mlops:training:TrainingPipeline", name, {}, opts);
        const child = { parent: this };
        const { environment: env, model, settings: config } = args;
        const partition = args.partition;

        const algorithm = aws.sagemaker.getPrebuiltEcrImageOutput({ ...ALGORITHM_IMAGE, region: args.region }, child);
        const physicalName = pipelineName(env, model, "training");
        const triggerName = fitName([PROJECT, env, model, "batch-manifest"], 64);
        const scheduleName = fitName([PROJECT, env, model, "retrain"], 64);

        // The role is the pipeline's and its jobs': SageMaker assumes it for the pipeline and for the jobs and
        // models the pipeline creates, all named pipelines-*.
        const roleName = iamName(env, model, "training");
        const roleInputs = pulumi.all({
            accountId: args.accountId,
            raw: args.buckets.raw,
            curated: args.buckets.curated,
            artifacts: args.buckets.artifacts,
            kmsKeyArn: args.kmsKeyArn,
            jobsRepositoryArn: args.jobsRepositoryArn,
        });
        const execution = new ServiceRole(
            `${name}-role`,
            {
                roleName,
                description: `SageMaker training pipeline and jobs of ${model}`,
                maxSessionDuration: 3600,
                trust: roleInputs.apply(({ accountId }): ServiceTrust[] => [
                    {
                        service: "sagemaker.amazonaws.com",
                        sourceAccount: accountId,
                        sourceArns: [
                            sagemakerArn(args.region, accountId, "pipeline", physicalName, partition),
                            ...["processing-job", "training-job", "transform-job", "model"].map((type) =>
                                sagemakerArn(args.region, accountId, type, PIPELINE_GENERATED, partition),
                            ),
                        ],
                    },
                ]),
                policy: roleInputs.apply(({ accountId, raw, curated, artifacts, kmsKeyArn, jobsRepositoryArn }) =>
                    trainingRolePolicy({
                        environment: env,
                        model,
                        region: args.region,
                        accountId,
                        partition,
                        buckets: { raw, curated, artifacts },
                        kmsKeyArn,
                        jobsRepositoryArn,
                        roleArn: iamRoleArn(accountId, roleName, partition),
                        ...(config.training.algorithm === "pytorch"
                            ? {
                                  pullRepositoryArns: PYTORCH_SCOPES.map((scope) =>
                                      pytorchRepositoryArn({ scope, region: args.region }, partition),
                                  ),
                              }
                            : {}),
                    }),
                ),
            },
            child,
        );
        this.role = execution.role;

        // Named by its content, so changed settings are a new object the new definition names; the old one is
        // kept for executions (and cached steps) of the definition that named it.
        const jobConfig = modelConfigObject(model, config);
        const modelConfig = new aws.s3.BucketObjectv2(
            `${name}-model-config`,
            {
                bucket: args.buckets.artifacts,
                key: jobConfig.key,
                content: jobConfig.content,
                contentType: "application/json",
                serverSideEncryption: "aws:kms",
                kmsKeyId: args.kmsKeyArn,
            },
            { ...child, retainOnDelete: true },
        );

        // The registry holds the evaluation evidence of every version; prod keeps it through a destroy.
        this.modelPackageGroup = new aws.sagemaker.ModelPackageGroup(
            `${name}-group`,
            {
                modelPackageGroupName: modelPackageGroupName(env, model),
                modelPackageGroupDescription: config.description ?? `${model} image classifier`,
            },
            { ...child, protect: args.protectRegistry ?? false, retainOnDelete: args.protectRegistry ?? false },
        );

        // A PyTorch model's script, as the sourcedir.tar.gz its training job's code channel reads, named by its hash.
        const pytorch = config.training.algorithm === "pytorch" ? pytorchSources(name, args, child) : undefined;

        this.definition = pulumi
            .all({
                roleArn: execution.arn,
                raw: args.buckets.raw,
                curated: args.buckets.curated,
                artifacts: args.buckets.artifacts,
                kmsKeyArn: args.kmsKeyArn,
                jobsImageUri: args.jobsImageUri,
                algorithmImageUri: algorithm.registryPath,
            })
            .apply(({ roleArn, raw, curated, artifacts, kmsKeyArn, jobsImageUri, algorithmImageUri }) =>
                JSON.stringify(
                    imageClassificationPipeline({
                        environment: env,
                        model,
                        config,
                        region: args.region,
                        roleArn,
                        buckets: { raw, curated, artifacts },
                        kmsKeyArn,
                        jobsImageUri,
                        algorithmImageUri,
                        gitCommit: args.gitCommit,
                        ...(pytorch ? { pytorch: { ...pytorch.images, sourceBundleUri: `s3://${artifacts}/${pytorch.key}` } } : {}),
                    }),
                ),
            );

        const steps = args.maxParallelExecutionSteps ?? 1;
        if (!Number.isInteger(steps) || steps < 1)
            throw new Error(`TrainingPipeline ${name}: maxParallelExecutionSteps must be a whole number >= 1, got ${steps}`);
        this.pipeline = new aws.sagemaker.Pipeline(
            `${name}-pipeline`,
            {
                pipelineName: physicalName,
                pipelineDisplayName: physicalName,
                pipelineDescription: `Preprocess, train, evaluate and register ${model} when a batch manifest arrives`,
                roleArn: execution.arn,
                pipelineDefinition: this.definition,
                parallelismConfiguration: { maxParallelExecutionSteps: steps },
            },
            { ...child, dependsOn: [modelConfig, this.modelPackageGroup, ...(pytorch ? [pytorch.object] : [])] },
        );

        const starter = new ServiceRole(
            `${name}-starter-role`,
            {
                roleName: iamName(env, model, "training-starter"),
                description: `EventBridge starts the training pipeline of ${model}`,
                trust: pulumi.output(args.accountId).apply((accountId): ServiceTrust[] => [
                    {
                        service: "events.amazonaws.com",
                        sourceAccount: accountId,
                        sourceArns: [triggerName, ...(args.retrainSchedule ? [scheduleName] : [])].map((rule) =>
                            eventRuleArn(args.region, accountId, rule, partition),
                        ),
                    },
                ]),
                policy: this.pipeline.arn.apply((arn) => pipelineStarterPolicy(arn)),
                policyResourceName: `${name}-starter-policy`,
            },
            child,
        );

        this.trigger = new aws.cloudwatch.EventRule(
            `${name}-trigger`,
            {
                name: triggerName,
                description: `Start ${physicalName} when a batch manifest of ${model} lands in the raw bucket`,
                eventPattern: pulumi.output(args.buckets.raw).apply((raw) => JSON.stringify(batchManifestEventPattern(raw, model))),
            },
            child,
        );
        new aws.cloudwatch.EventTarget(
            `${name}-trigger-target`,
            {
                rule: this.trigger.name,
                arn: this.pipeline.arn,
                roleArn: starter.arn,
                sagemakerPipelineTarget: { pipelineParameterLists: batchManifestPipelineParameters() },
                retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: 3600 },
            },
            child,
        );

        if (args.retrainSchedule) {
            // A schedule passes fixed values only: the pointer to the newest dataset, which the Dataset step resolves.
            this.schedule = new aws.cloudwatch.EventRule(
                `${name}-schedule`,
                {
                    name: scheduleName,
                    description: `Retrain ${model} on its newest complete dataset (${latestDatasetKey(model)}), ${args.retrainSchedule}`,
                    scheduleExpression: args.retrainSchedule,
                },
                child,
            );
            new aws.cloudwatch.EventTarget(
                `${name}-schedule-target`,
                {
                    rule: this.schedule.name,
                    arn: this.pipeline.arn,
                    roleArn: starter.arn,
                    sagemakerPipelineTarget: {
                        pipelineParameterLists: checkedParameters([{ name: BATCH_MANIFEST_PARAMETER, value: latestDatasetKey(model) }]),
                    },
                },
                child,
            );
        }

        if (args.alarmTopicArn) {
            const failures = new aws.cloudwatch.EventRule(
                `${name}-failures`,
                {
                    name: fitName([PROJECT, env, model, "training-failed"], 64),
                    description: `Failed executions of ${physicalName}`,
                    eventPattern: this.pipeline.arn.apply((arn) => JSON.stringify(failedExecutionEventPattern(arn))),
                },
                child,
            );
            new aws.cloudwatch.EventTarget(
                `${name}-failures-target`,
                {
                    rule: failures.name,
                    arn: args.alarmTopicArn,
                    inputTransformer: {
                        inputPaths: { execution: "$.detail.pipelineExecutionArn" },
                        inputTemplate: `"Training pipeline of ${model} (${env}) failed: <execution>. A Fail step means the quality gate rejected the model; otherwise a job failed."`,
                    },
                },
                child,
            );
        }

        this.pipelineArn = this.pipeline.arn;
        this.pipelineName = this.pipeline.pipelineName;
        this.modelPackageGroupName = this.modelPackageGroup.modelPackageGroupName;
        this.roleArn = execution.arn;
        this.registerOutputs({
            pipelineArn: this.pipelineArn,
            pipelineName: this.pipelineName,
            modelPackageGroupName: this.modelPackageGroupName,
            roleArn: this.roleArn,
            definition: this.definition,
        });
    }
}

const PYTORCH_SCOPES = ["training", "inference"] as const;

/** The PyTorch images of a model and its uploaded source bundle. */
function pytorchSources(name: string, args: TrainingPipelineArgs, child: pulumi.ResourceOptions) {
    const { settings: config, model } = args;
    const bundle = sourceBundle(config.training.sourceDir ?? PYTORCH_SOURCE_DIR);
    const key = `${prefixes.artifactsModel(model)}code/${bundle.sha256.slice(0, 16)}/${SOURCE_BUNDLE_FILE}`;
    const object = new aws.s3.BucketObjectv2(
        `${name}-source`,
        {
            bucket: args.buckets.artifacts,
            key,
            contentBase64: bundle.bytes.toString("base64"),
            contentType: "application/gzip",
            serverSideEncryption: "aws:kms",
            kmsKeyId: args.kmsKeyArn,
        },
        // Kept for executions (and retries) of the definitions that name it, like the model config.
        { ...child, retainOnDelete: true },
    );
    return {
        key,
        object,
        images: pytorchModelImages(config.training, args.region),
    };
}

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Environment, ModelConfig } from "../infra/config";
import { assumeRolePolicy } from "../infra/iam";
import { fitName, iamName, modelPackageGroupName, pipelineName, PROJECT } from "../infra/naming";
import {
    ALGORITHM_IMAGE,
    imageClassificationPipeline,
    BATCH_MANIFEST_PARAMETER,
    latestDatasetKey,
    modelConfigObject,
} from "../infra/pipeline/image-classification";
import { pipelineStarterPolicy, trainingRolePolicy } from "../infra/pipeline/training-role";
import {
    batchManifestEventPattern,
    batchManifestPipelineParameters,
    checkedParameters,
    failedExecutionEventPattern,
} from "../infra/pipeline/trigger";
import { dataProtection } from "../infra/resource-options";

export interface TrainingPipelineArgs {
    /** Environment name; part of every physical name. */
    readonly environment: Environment;
    /** Model name from the stack config. */
    readonly model: string;
    /** The model's settings (classes, image shape, training, quality threshold, endpoint type). */
    readonly config: ModelConfig;
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
 * the SageMaker pipeline, the EventBridge rule that starts it when a batch manifest lands, and (when the
 * model sets `training.retrainSchedule`) a schedule that retrains on the newest manifest.
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
        const { environment: env, model, config } = args;

        const algorithm = aws.sagemaker.getPrebuiltEcrImageOutput({ ...ALGORITHM_IMAGE, region: args.region }, child);

        this.role = new aws.iam.Role(
            `${name}-role`,
            {
                name: iamName(env, model, "training"),
                description: `SageMaker training pipeline and jobs of ${model}`,
                assumeRolePolicy: JSON.stringify(assumeRolePolicy("sagemaker.amazonaws.com")),
                maxSessionDuration: 3600,
            },
            child,
        );
        const rolePolicy = new aws.iam.RolePolicy(
            `${name}-role-policy`,
            {
                role: this.role.id,
                policy: pulumi
                    .all([
                        args.buckets.raw,
                        args.buckets.curated,
                        args.buckets.artifacts,
                        args.kmsKeyArn,
                        args.jobsRepositoryArn,
                        args.accountId,
                        this.role.arn,
                    ])
                    .apply(([raw, curated, artifacts, kmsKeyArn, jobsRepositoryArn, accountId, roleArn]) =>
                        JSON.stringify(
                            trainingRolePolicy({
                                environment: env,
                                model,
                                region: args.region,
                                accountId,
                                partition: args.partition,
                                buckets: { raw, curated, artifacts },
                                kmsKeyArn,
                                jobsRepositoryArn,
                                roleArn,
                            }),
                        ),
                    ),
            },
            child,
        );

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
            { ...child, ...dataProtection(env) },
        );

        this.definition = pulumi
            .all([
                this.role.arn,
                args.buckets.raw,
                args.buckets.curated,
                args.buckets.artifacts,
                args.kmsKeyArn,
                args.jobsImageUri,
                algorithm.registryPath,
            ])
            .apply(([roleArn, raw, curated, artifacts, kmsKeyArn, jobsImageUri, algorithmImageUri]) =>
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
                    }),
                ),
            );

        const steps = args.maxParallelExecutionSteps ?? 1;
        if (!Number.isInteger(steps) || steps < 1)
            throw new Error(`TrainingPipeline ${name}: maxParallelExecutionSteps must be a whole number >= 1, got ${steps}`);
        const physicalName = pipelineName(env, model, "training");
        this.pipeline = new aws.sagemaker.Pipeline(
            `${name}-pipeline`,
            {
                pipelineName: physicalName,
                pipelineDisplayName: physicalName,
                pipelineDescription: `Preprocess, train, evaluate and register ${model} when a batch manifest arrives`,
                roleArn: this.role.arn,
                pipelineDefinition: this.definition,
                parallelismConfiguration: { maxParallelExecutionSteps: steps },
            },
            { ...child, dependsOn: [rolePolicy, modelConfig, this.modelPackageGroup] },
        );

        const starter = new aws.iam.Role(
            `${name}-starter-role`,
            {
                name: iamName(env, model, "training-starter"),
                description: `EventBridge starts the training pipeline of ${model}`,
                assumeRolePolicy: JSON.stringify(assumeRolePolicy("events.amazonaws.com")),
            },
            child,
        );
        new aws.iam.RolePolicy(
            `${name}-starter-policy`,
            {
                role: starter.id,
                policy: this.pipeline.arn.apply((arn) => JSON.stringify(pipelineStarterPolicy(arn))),
            },
            child,
        );

        this.trigger = new aws.cloudwatch.EventRule(
            `${name}-trigger`,
            {
                name: fitName([PROJECT, env, model, "batch-manifest"], 64),
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

        if (config.training.retrainSchedule) {
            // A schedule passes fixed values only: the pointer to the newest dataset, which the Dataset step resolves.
            this.schedule = new aws.cloudwatch.EventRule(
                `${name}-schedule`,
                {
                    name: fitName([PROJECT, env, model, "retrain"], 64),
                    description: `Retrain ${model} on its newest complete dataset (${latestDatasetKey(model)}), ${config.training.retrainSchedule}`,
                    scheduleExpression: config.training.retrainSchedule,
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
        this.roleArn = this.role.arn;
        this.registerOutputs({
            pipelineArn: this.pipelineArn,
            pipelineName: this.pipelineName,
            modelPackageGroupName: this.modelPackageGroupName,
            roleArn: this.roleArn,
            definition: this.definition,
        });
    }
}
